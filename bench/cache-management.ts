// Benchmarks for cache management (issue: control API and pre-warm):
//   prewarm  a 150-package mix.lock against an upstream 50 ms away, with the default
//            concurrency, against the same set fetched one at a time, and against the ideal
//            (requests × latency ÷ concurrency + bytes ÷ bandwidth);
//   catalog  GET /-/api/cache pages over 20,000 packages / 200,000 releases (search, sorts, deep pages);
//            its synthetic data dir (writeSyntheticCache) is also bench/index-scale.ts's.
// Both run the real built `hexhub` process (test/support/cli.ts).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, upstreamEnv } from '../test/support/cli.js';
import { createApiClient } from '../src-shared/api-client.js';
import { startFakeUpstream } from '../test/support/fake-upstream.js';
import { FixtureRepo } from '../test/support/hex-fixtures.js';
import { httpGet } from '../test/support/http.js';
import { API_PREFIX, TOKEN_HEADER } from '../src-shared/contract.js';
import type { CacheEntry } from '../src-main/store/cache-index.js';
import { writeIndexFile } from '../src-main/store/index-journal.js';

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export interface PrewarmFigures {
  packages: number;
  latencyMs: number;
  concurrency: number;
  upstreamRequests: number;
  bytes: number;
  bandwidthBytesPerSec: number;
  idealMs: number;
  concurrentMs: number;
  sequentialMs: number;
  ratioToIdeal: number;
  target: number;
  pass: boolean;
}

function mixLockFor(repo: FixtureRepo, names: string[]): string {
  const lines = names.map((name) => {
    const r = repo.releases(name)[0]!;
    return `  "${name}": {:hex, :${name}, "${r.version}", "${r.innerChecksum}", [:mix], [], "hexpm", "${r.outerChecksum}"},`;
  });
  return `%{\n${lines.join('\n')}\n}\n`;
}

/** Time from submitting the job to a running server until it reports done. */
async function timePrewarm(lock: string, upstreamUrl: string, concurrency: number): Promise<number> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hexhub-bench-prewarm-'));
  const server = await serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstreamUrl, { HEXHUB_LOG_LEVEL: 'warn' }));
  try {
    const api = createApiClient({ baseUrl: server.url, token: (await readFile(join(dataDir, 'token'), 'utf8')).trim() });
    const started = performance.now();
    let job = await api.startPrewarm({ lockfile: { name: 'mix.lock', content: lock }, concurrency });
    while (job.state === 'resolving' || job.state === 'running') {
      await new Promise((r) => setTimeout(r, 20));
      job = await api.job(job.id);
    }
    const ms = performance.now() - started;
    if (job.state !== 'done') throw new Error(`prewarm ${job.state}: ${JSON.stringify(job.problems)}`);
    return ms;
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function benchPrewarm(options: { packages?: number; latencyMs?: number; concurrency?: number } = {}): Promise<PrewarmFigures> {
  const packages = options.packages ?? 150;
  const latencyMs = options.latencyMs ?? 50;
  const concurrency = options.concurrency ?? 8;
  const repo = new FixtureRepo();
  const names = Array.from({ length: packages }, (_, i) => `pkg_${String(i).padStart(3, '0')}`);
  for (const name of names) await repo.publish({ name, version: '1.0.0', description: `${name} `.repeat(200) });
  const upstream = await startFakeUpstream(repo);
  const lock = mixLockFor(repo, names);
  try {
    // Loopback bandwidth for the ideal's bytes ÷ bandwidth term: all tarballs, 8 at a time, no added latency.
    const bytes = names.reduce((sum, n) => sum + repo.releases(n)[0]!.bytes.length, 0);
    const t0 = performance.now();
    for (let i = 0; i < names.length; i += 8) await Promise.all(names.slice(i, i + 8).map((n) => httpGet(upstream.url, `/tarballs/${n}-1.0.0.tar`)));
    const bandwidth = bytes / ((performance.now() - t0) / 1000);

    upstream.fault.latencyMs(latencyMs);
    upstream.resetRequests();
    log(`prewarm: ${packages} packages, ${latencyMs} ms upstream latency, concurrency ${concurrency}`);
    const concurrentMs = await timePrewarm(lock, upstream.url, concurrency);
    const upstreamRequests = upstream.requests.length;
    log(`prewarm: same set one at a time`);
    const sequentialMs = await timePrewarm(lock, upstream.url, 1);
    const idealMs = (upstreamRequests * latencyMs) / concurrency + (bytes / bandwidth) * 1000;
    const ratioToIdeal = concurrentMs / idealMs;
    return {
      packages,
      latencyMs,
      concurrency,
      upstreamRequests,
      bytes,
      bandwidthBytesPerSec: Math.round(bandwidth),
      idealMs: Math.round(idealMs),
      concurrentMs: Math.round(concurrentMs),
      sequentialMs: Math.round(sequentialMs),
      ratioToIdeal: Number(ratioToIdeal.toFixed(3)),
      target: 1.3,
      pass: ratioToIdeal <= 1.3,
    };
  } finally {
    await upstream.close();
  }
}

export interface CatalogFigures {
  packages: number;
  releases: number;
  requests: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  byQuery: { query: string; p50Ms: number }[];
  target: number;
  pass: boolean;
}

/**
 * A data dir's index as the engine writes it (index.jsonl, through the engine's own writer) and
 * the objects it lists, as empty files (size 0, which keeps the data dir small). Start-up
 * reconciliation keeps only entries whose file exists. Returns the keys.
 */
export async function writeSyntheticCache(dataDir: string, packages: number, releasesPerPackage: number): Promise<string[]> {
  const entries: [string, CacheEntry][] = [];
  const now = Date.now();
  for (let p = 0; p < packages; p++) {
    const name = `pkg${p.toString(36)}_${p}`;
    for (let r = 0; r < releasesPerPackage; r++) {
      entries.push([
        `tarballs/${name}-1.${r}.0.tar`,
        {
          kind: 'tarball',
          package: name,
          version: `1.${r}.0`,
          size: 0,
          sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          // What a verified tarball records: the upstream signing key's fingerprint.
          trust: 'SHA256:SrLuXInhYTXrqkDSBv3ZZG2b0tPbLYUQiWiRnQkgIno',
          fetchedAt: now - ((p * 7919 + r) % 1_000_000),
          validatedAt: now,
          lastUsedAt: now - ((p * 104729 + r) % 1_000_000),
          hits: (p * 31 + r) % 1000,
        },
      ]);
    }
  }
  await writeIndexFile(dataDir, entries);
  const keys = entries.map(([key]) => key);
  await mkdir(join(dataDir, 'cache/tarballs'), { recursive: true });
  for (let i = 0; i < keys.length; i += 500) await Promise.all(keys.slice(i, i + 500).map((k) => writeFile(join(dataDir, 'cache', k), '')));
  return keys;
}

export async function benchCatalog(options: { packages?: number; releasesPerPackage?: number; requests?: number } = {}): Promise<CatalogFigures> {
  const packages = options.packages ?? 20_000;
  const releasesPerPackage = options.releasesPerPackage ?? 10;
  const perQuery = options.requests ?? 30;
  const dataDir = await mkdtemp(join(tmpdir(), 'hexhub-bench-catalog-'));
  log(`catalog: writing a synthetic index of ${packages} packages / ${packages * releasesPerPackage} releases`);
  await writeSyntheticCache(dataDir, packages, releasesPerPackage);
  const server = await serve(['--port', '0', '--data-dir', dataDir], { UPSTREAM_ENABLED: 'false', HEXHUB_LOG_LEVEL: 'warn' });
  try {
    const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
    const queries = [
      'page=1&pageSize=50',
      'page=200&pageSize=50',
      'sort=size&order=desc&page=1&pageSize=50',
      'sort=hits&order=desc&page=50&pageSize=50',
      'sort=lastUsed&order=desc&page=1&pageSize=100',
      'q=pkg1&page=1&pageSize=50',
      'q=_19&sort=releases&page=2&pageSize=50',
    ];
    const all: number[] = [];
    const byQuery: { query: string; p50Ms: number }[] = [];
    const first = await httpGet(server.url, `${API_PREFIX}/cache?page=1`, { headers: { [TOKEN_HEADER]: token } });
    const total = (JSON.parse(first.body.toString()) as { total: number }).total;
    if (total !== packages) throw new Error(`catalog lists ${total} packages, expected ${packages}`);
    for (const query of queries) {
      const times: number[] = [];
      for (let i = 0; i < perQuery; i++) {
        const t = performance.now();
        const reply = await httpGet(server.url, `${API_PREFIX}/cache?${query}`, { headers: { [TOKEN_HEADER]: token } });
        times.push(performance.now() - t);
        if (reply.status !== 200) throw new Error(`GET /cache?${query} answered ${reply.status}`);
      }
      times.sort((a, b) => a - b);
      byQuery.push({ query, p50Ms: Number(times[Math.floor(times.length / 2)]!.toFixed(2)) });
      all.push(...times);
    }
    all.sort((a, b) => a - b);
    const p50 = all[Math.floor(all.length / 2)]!;
    return {
      packages,
      releases: packages * releasesPerPackage,
      requests: all.length,
      p50Ms: Number(p50.toFixed(2)),
      p95Ms: Number(all[Math.floor(all.length * 0.95)]!.toFixed(2)),
      maxMs: Number(all.at(-1)!.toFixed(2)),
      byQuery,
      target: 50,
      pass: p50 < 50,
    };
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await rm(dataDir, { recursive: true, force: true });
  }
}
