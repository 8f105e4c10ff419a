// Phase `large`: serving a cache ten times larger than the hot cache, against nginx in the same
// run. A user's cache outgrows memory within weeks; what matters then is what the hot cache
// keeps (popular packages, under Zipf) and what a read off disk costs (under a uniform load,
// where no cache policy helps).
//
//   1. fill: every release fetched once, cold, through a fresh mirror (8 at a time), sampling
//      its peak RSS: filling a cache with ~700 MB of tarballs must stay under 200 MB;
//   2. nginx (1 worker, sendfile) serves a copy of exactly what the mirror stored;
//   3. the interleaved load of phase 1 (32 connections), twice: uniform over every release,
//      and Zipf (s = 1.0) over a random popularity order, as real downloads are.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServeProcess } from '../test/support/cli.js';
import type { FakeUpstream } from '../test/support/fake-upstream.js';
import type { FixtureRelease, FixtureRepo } from '../test/support/hex-fixtures.js';
import { buildSized, hexLikeSizes, publishSharing, seededRandom, shuffle } from '../test/support/sized-fixtures.js';
import type { LoadResult } from './load.js';
import { startNginx } from './nginx.js';
import { fetchDigest, fmt, mapLimit, metricsOf, MiB, sampleMemory, type Fetched } from './util.js';

export const LARGE_PLAN = {
  /** The mirror's hot cache (BlobStore's default). */
  hotCacheBytes: 64 * MiB,
  /** Working set ≥ this × the hot cache. */
  workingSetFactor: 10,
  /** Distinct tarballs built; releases share them (publishSharing), so fixtures stay small. */
  distinct: 300,
  packages: 150,
  fillConcurrency: 8,
  zipfS: 1.0,
  /** Requests in the Zipf sequence each connection walks (from its own offset). */
  zipfRequests: 60_000,
  minRatioZipf: 0.6,
  minRatioUniform: 0.4,
  maxP99Ratio: 2,
  rssLimit: 200 * MiB,
};

export interface WarmRun extends LoadResult {
  serverCpuPct: number;
  clientCpuPct: number;
  otherCpuPct: number;
}

type Mirror = ServeProcess & { dataDir: string; stop(): Promise<void> };

export interface LargeDeps {
  upstream: FakeUpstream;
  repo: FixtureRepo;
  log(line: string): void;
  startMirror(label: string, env?: Record<string, string>): Promise<Mirror>;
  /** Phase 1's interleaved autocannon load. */
  measureInterleaved(targets: { label: string; url: string; pid: number }[], paths: string[]): Promise<WarmRun[]>;
  checkFetched(what: string, got: Fetched, release: FixtureRelease): string | undefined;
  onCleanup(cleanup: () => Promise<unknown>): void;
}

export interface LargeLoad {
  distribution: 'uniform' | 'zipf';
  mirror: WarmRun & { peakRssBytes: number };
  nginx1: WarmRun;
  ratio: number;
  p99Ratio: number;
  minRatio: number;
  pass: boolean;
}

export interface LargeFigures {
  releases: number;
  bytesTotal: number;
  hotCacheBytes: number;
  fill: { seconds: number; peakRssBytes: number; pass: boolean };
  loads: LargeLoad[];
  upstreamRequestsDuringLoad: number;
  pass: boolean;
}

const tarballPath = (r: { name: string; version: string }) => `/tarballs/${r.name}-${r.version}.tar`;

async function buildReleases(deps: LargeDeps): Promise<FixtureRelease[]> {
  const random = seededRandom(20261203);
  const sizes = hexLikeSizes(LARGE_PLAN.distinct, random);
  const shared = [];
  for (const [i, size] of sizes.entries()) shared.push(await buildSized('large_shared', `0.0.${i}`, size, 30_000 + i));
  const distinctBytes = shared.reduce((a, t) => a + t.bytes.length, 0);
  // Releases cycle through the distinct tarballs until the working set is large enough.
  const count = Math.ceil((LARGE_PLAN.workingSetFactor * LARGE_PLAN.hotCacheBytes * shared.length) / distinctBytes);
  deps.log(
    `large: publishing ${count} releases over ${LARGE_PLAN.packages} packages (${shared.length} distinct tarballs, mean ${fmt(distinctBytes / shared.length / 1024, 0)} KiB)`,
  );
  const releases: FixtureRelease[] = [];
  for (let i = 0; i < count; i++) {
    const name = `large_pkg_${String(i % LARGE_PLAN.packages).padStart(3, '0')}`;
    releases.push(await publishSharing(deps.repo, name, `1.${Math.floor(i / LARGE_PLAN.packages)}.0`, shared[i % shared.length]!));
  }
  return releases;
}

/** Where the mirror's memory is, from its own /metrics (V8 heap, memory outside it, buffers). */
async function memoryParts(url: string): Promise<string> {
  const value = await metricsOf(url);
  const parts = {
    rss: 'process_resident_memory_bytes',
    'heap used': 'nodejs_heap_size_used_bytes',
    'heap total': 'nodejs_heap_size_total_bytes',
    external: 'nodejs_external_memory_bytes',
  };
  return Object.entries(parts)
    .map(([label, name]) => `${label} ${fmt(value(`hexhub_process_${name}`) / MiB)} MiB`)
    .join(', ');
}

/** Logs memoryParts every second of `what` with BENCH_MEMORY_TRACE=1, and once when it ends in any case. */
function memoryTrace(url: string, what: string, log: (line: string) => void): { stop(): Promise<void> } {
  const timer = process.env.BENCH_MEMORY_TRACE ? setInterval(() => void memoryParts(url).then((parts) => log(`large: ${what}: ${parts}`)), 1000) : undefined;
  return {
    async stop() {
      clearInterval(timer);
      log(`large: after the ${what}: ${await memoryParts(url)}`);
    },
  };
}

/** `count` paths drawn from a Zipf(s) popularity over `paths` (in a seeded random rank order). */
function zipfPaths(paths: string[], s: number, count: number): string[] {
  const random = seededRandom(99);
  const ranked = shuffle(paths, random);
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= ranked.length; rank++) cumulative.push((total += 1 / rank ** s));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const u = random() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out.push(ranked[lo]!);
  }
  return out;
}

export async function benchLargeWorkingSet(deps: LargeDeps): Promise<LargeFigures> {
  const { log, upstream } = deps;
  const releases = await buildReleases(deps);
  const bytesTotal = releases.reduce((a, r) => a + r.bytes.length, 0);
  const mirror = await deps.startMirror('large');
  deps.onCleanup(() => mirror.stop());

  log(`large: filling a fresh mirror with ${releases.length} cold tarballs (${fmt(bytesTotal / MiB, 0)} MiB), ${LARGE_PLAN.fillConcurrency} at a time`);
  const fillMemory = sampleMemory(mirror.child.pid!, 50);
  const fillTrace = memoryTrace(mirror.url, 'fill', log);
  const t0 = performance.now();
  const fetched = await mapLimit(releases, LARGE_PLAN.fillConcurrency, (r) => fetchDigest(mirror.url, tarballPath(r)));
  const fillSeconds = (performance.now() - t0) / 1000;
  await fillTrace.stop();
  const fillMem = await fillMemory.stop();
  fetched.forEach((got, i) => {
    const problem = deps.checkFetched(`large fill ${tarballPath(releases[i]!)}`, got, releases[i]!);
    if (problem) throw new Error(problem);
    if (got.headers['x-hexhub-cache'] !== 'MISS') throw new Error(`large fill: X-HexHub-Cache ${String(got.headers['x-hexhub-cache'])}, expected MISS`);
  });
  const fillPeak = Math.max(fillMem.hwm, fillMem.peakRss);

  const root = await mkdtemp(join(tmpdir(), 'hexhub-bench-large-www-'));
  deps.onCleanup(() => rm(root, { recursive: true, force: true }));
  await cp(join(mirror.dataDir, 'cache', 'tarballs'), join(root, 'tarballs'), { recursive: true });
  const nginx = await startNginx(root, '1');
  deps.onCleanup(() => nginx.stop());

  const uniform = shuffle(releases.map(tarballPath), seededRandom(7));
  const zipf = zipfPaths(uniform, LARGE_PLAN.zipfS, LARGE_PLAN.zipfRequests);
  const upstreamBefore = upstream.requests.length;
  const loads: LargeLoad[] = [];
  for (const [distribution, paths] of [
    ['zipf', zipf],
    ['uniform', uniform],
  ] as const) {
    log(`large: ${distribution} load over ${new Set(paths).size} distinct tarballs`);
    const memory = sampleMemory(mirror.child.pid!, 100);
    const trace = memoryTrace(mirror.url, `${distribution} load`, log);
    const [ours, reference] = (await deps.measureInterleaved(
      [
        { label: `HexHub (${distribution})`, url: mirror.url, pid: mirror.child.pid! },
        { label: `nginx worker_processes 1 (${distribution})`, url: nginx.url, pid: nginx.pid },
      ],
      paths,
    )) as [WarmRun, WarmRun];
    await trace.stop();
    const mem = await memory.stop();
    const ratio = ours.reqPerSec / reference.reqPerSec;
    const p99Ratio = ours.latencyMs.p99 / reference.latencyMs.p99;
    const minRatio = distribution === 'zipf' ? LARGE_PLAN.minRatioZipf : LARGE_PLAN.minRatioUniform;
    const clean = (r: LoadResult) => r.non2xx === 0 && r.errors === 0 && r.timeouts === 0;
    const peakRssBytes = Math.max(mem.peakRss, mem.hwm);
    loads.push({
      distribution,
      mirror: { ...ours, peakRssBytes },
      nginx1: reference,
      ratio,
      p99Ratio,
      minRatio,
      pass: ratio >= minRatio && p99Ratio <= LARGE_PLAN.maxP99Ratio && clean(ours) && clean(reference) && peakRssBytes < LARGE_PLAN.rssLimit,
    });
  }
  const upstreamRequestsDuringLoad = upstream.requests.length - upstreamBefore;

  // What the load was served must still be the right bytes (a sample, hashed end to end).
  const sample = releases.filter((_, i) => i % 37 === 0);
  const checks = await mapLimit(sample, 8, (r) => fetchDigest(mirror.url, tarballPath(r)));
  checks.forEach((got, i) => {
    const problem = deps.checkFetched(`large after load ${tarballPath(sample[i]!)}`, got, sample[i]!);
    if (problem) throw new Error(problem);
  });
  await nginx.stop();
  await mirror.stop();
  const fillPass = fillPeak < LARGE_PLAN.rssLimit;
  return {
    releases: releases.length,
    bytesTotal,
    hotCacheBytes: LARGE_PLAN.hotCacheBytes,
    fill: { seconds: fillSeconds, peakRssBytes: fillPeak, pass: fillPass },
    loads,
    upstreamRequestsDuringLoad,
    pass: fillPass && upstreamRequestsDuringLoad === 0 && loads.every((l) => l.pass),
  };
}

const PF = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
const mib = (bytes: number) => `${fmt(bytes / MiB, 0)} MiB`;

export function largeTargets(r: LargeFigures) {
  return [
    ...r.loads.map((l) => ({
      id: `10-${l.distribution}`,
      name: `working set ${LARGE_PLAN.workingSetFactor}× the hot cache, ${l.distribution}: req/s HexHub / nginx(1)`,
      value: l.ratio,
      target: `>= ${l.minRatio}, p99 <= ${LARGE_PLAN.maxP99Ratio}× nginx, RSS < ${mib(LARGE_PLAN.rssLimit)}`,
      pass: l.pass,
    })),
    {
      id: '10-fill',
      name: `peak RSS filling the cache with ${mib(r.bytesTotal)} of cold tarballs`,
      value: r.fill.peakRssBytes / MiB,
      target: `< ${mib(LARGE_PLAN.rssLimit)}`,
      pass: r.fill.pass,
    },
  ];
}

export function largeReport(r: LargeFigures, noise: string): string[] {
  const out = ['', `10. Working set ${LARGE_PLAN.workingSetFactor}× the hot cache  [${PF(r.pass)}]${noise}`];
  out.push(
    `  ${r.releases} tarballs, ${mib(r.bytesTotal)} (hot cache ${mib(r.hotCacheBytes)}); filled cold through a fresh mirror in ${fmt(r.fill.seconds)} s, peak RSS ${mib(r.fill.peakRssBytes)} [${PF(r.fill.pass)}]`,
  );
  const line = (label: string, x: WarmRun) =>
    `    ${label.padEnd(14)} ${fmt(x.reqPerSec, 0).padStart(6)} req/s ${fmt(x.bytesPerSec / MiB, 0).padStart(5)} MiB/s  p50 ${fmt(x.latencyMs.p50)} p99 ${fmt(x.latencyMs.p99)} ms; ` +
    `2xx ${x.ok2xx}/${x.requests}, errors ${x.errors + x.non2xx + x.timeouts}; CPU server ${fmt(x.serverCpuPct, 0)} %, load generator ${fmt(x.clientCpuPct, 0)} %, others ${fmt(x.otherCpuPct, 0)} %`;
  for (const l of r.loads) {
    out.push(`  ${l.distribution}  [${PF(l.pass)}]`);
    out.push(line('HexHub', l.mirror));
    out.push(line('nginx (1)', l.nginx1));
    out.push(
      `    HexHub / nginx(1) = ${fmt(l.ratio, 2)} (target ≥ ${l.minRatio}); p99 ${fmt(l.p99Ratio, 2)} × nginx's (target ≤ ${LARGE_PLAN.maxP99Ratio}); HexHub peak RSS ${mib(l.mirror.peakRssBytes)}`,
    );
  }
  out.push(`  upstream requests during the loads: ${r.upstreamRequestsDuringLoad}`);
  return out;
}

export function largeMarkdownRows(r: LargeFigures): string[][] {
  const cell = (x: WarmRun) => `${fmt(x.reqPerSec, 0)} req/s, p99 ${fmt(x.latencyMs.p99, 1)} ms`;
  return [
    ...r.loads.map((l) => [
      `10 ${l.distribution}`,
      `${r.releases} tarballs, ${mib(r.bytesTotal)} (${LARGE_PLAN.workingSetFactor}× the ${mib(r.hotCacheBytes)} hot cache), ${l.distribution}, 32 connections`,
      `${cell(l.mirror)}, RSS ${mib(l.mirror.peakRssBytes)}`,
      `nginx 1 worker: ${cell(l.nginx1)}`,
      `≥ ${l.minRatio} × nginx, p99 ≤ ${LARGE_PLAN.maxP99Ratio} ×; got ${fmt(l.ratio, 2)} ×, p99 ${fmt(l.p99Ratio, 2)} ×`,
      PF(l.pass),
    ]),
    [
      '10 fill',
      `${mib(r.bytesTotal)} of cold tarballs through a fresh mirror, 8 at a time`,
      `peak RSS ${mib(r.fill.peakRssBytes)}`,
      '',
      `< ${mib(LARGE_PLAN.rssLimit)}`,
      PF(r.fill.pass),
    ],
  ];
}
