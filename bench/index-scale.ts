// Benchmark of the cache index at hex.pm's size (issue #15, "An index that scales"): a data dir
// of 20,000 packages / 200,000 releases (bench/cache-management.ts's synthetic cache: index.jsonl
// written by the engine's own writer, empty files), served by the real built `hexhub` process.
//   a. start-up: from spawning `hexhub serve` to its listening line, median of 3 (each run is
//      stopped with SIGTERM, which waits for the start-up reconciliation it began). The mirror
//      listens before it reads the index, and requests wait for it: so also the first answer,
//      a /healthz sent the moment the line appears (from the spawn to its 200);
//   b. idle RSS (VmRSS): once the process is idle after start-up (the background reconciliation,
//      which stats every indexed file, is done), plus 2 s;
//   c. bytes written to the index per 100 cold misses: 100 small releases of the fake upstream
//      fetched through the mirror, then hexhub_index_bytes_written_total (and the file's growth)
//      once the batched write is done. That run appends; compaction rewrites the live index once
//      the file is past twice it, so on average every appended byte costs at most one more
//      (see src-main/store/cache-index.ts): the amortised figure is the appended bytes × that.
// Listing at this size is phase 6 (benchCatalog); not measured again here.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, upstreamEnv, type ServeProcess } from '../test/support/cli.js';
import { startFakeUpstream } from '../test/support/fake-upstream.js';
import { FixtureRepo } from '../test/support/hex-fixtures.js';
import { httpGet } from '../test/support/http.js';
import { writeSyntheticCache } from './cache-management.js';
import { cpuSecondsOf, fmt, memoryOf, metricsOf, MiB } from './util.js';

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const PF = (pass: boolean) => (pass ? 'PASS' : 'FAIL');

export const INDEX_SCALE_PLAN = {
  packages: 20_000,
  releasesPerPackage: 10,
  startups: 3,
  coldMisses: 100,
  targets: { startupMs: 1000, idleRssBytes: 200 * MiB, bytesPer100ColdMisses: 1_000_000 },
};

export interface IndexScaleFigures {
  packages: number;
  releases: number;
  /** index.jsonl as written (compact: one put record per release). */
  indexFileBytes: number;
  startup: {
    runsMs: number[];
    medianMs: number;
    /** From the spawn to the 200 of a /healthz sent at the listening line (it waits for the index). */
    firstAnswerRunsMs: number[];
    firstAnswerMedianMs: number;
    targetMs: number;
    pass: boolean;
  };
  idle: {
    rssBytes: number;
    /** VmRSS when the listening line came. */
    rssAtListeningBytes: number;
    /** From listening to idle (the background reconciliation of 200,000 files). */
    settledAfterMs: number;
    targetBytes: number;
    pass: boolean;
  };
  coldMisses: {
    count: number;
    /** hexhub_index_bytes_written_total over the misses and their batched write. */
    bytesWritten: number;
    /** The same, from the file's size. */
    fileGrowthBytes: number;
    compacted: boolean;
    /** Per 100 misses, compaction included on average (bytesWritten × (1 + live ÷ (threshold − live))). */
    amortisedPer100: number;
    targetBytes: number;
    pass: boolean;
  };
  pass: boolean;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function stop(server: ServeProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

/** Waits until the process has used under 3 % of a core for 2 s (at least `minMs` after the start). */
async function settle(pid: number, minMs = 2000, maxMs = 180_000): Promise<number> {
  const started = performance.now();
  let last = await cpuSecondsOf(pid);
  let quiet = 0;
  while (performance.now() - started < maxMs) {
    await sleep(500);
    const now = await cpuSecondsOf(pid);
    quiet = (now - last) / 0.5 < 0.03 ? quiet + 1 : 0;
    last = now;
    if (quiet >= 4 && performance.now() - started >= minMs) return performance.now() - started;
  }
  throw new Error(`the mirror was still busy after ${maxMs / 1000} s`);
}

async function indexBytesWritten(url: string): Promise<number> {
  const value = (await metricsOf(url))('hexhub_index_bytes_written_total');
  if (!Number.isInteger(value)) throw new Error('/metrics has no hexhub_index_bytes_written_total');
  return value;
}

/** Polls until the counter has not moved for 2.5 s (the index is written in batches, 1 s apart). */
async function writtenOnceSettled(url: string): Promise<number> {
  let value = await indexBytesWritten(url);
  let since = performance.now();
  while (performance.now() - since < 2500) {
    await sleep(250);
    const now = await indexBytesWritten(url);
    if (now !== value) [value, since] = [now, performance.now()];
  }
  return value;
}

export async function benchIndexScale(options: { packages?: number; releasesPerPackage?: number } = {}): Promise<IndexScaleFigures> {
  const plan = INDEX_SCALE_PLAN;
  const packages = options.packages ?? plan.packages;
  const releasesPerPackage = options.releasesPerPackage ?? plan.releasesPerPackage;
  const releases = packages * releasesPerPackage;
  const repo = new FixtureRepo();
  const names = Array.from({ length: plan.coldMisses }, (_, i) => `cold_${String(i).padStart(3, '0')}`);
  for (const name of names) await repo.publish({ name, version: '1.0.0' });
  const upstream = await startFakeUpstream(repo);
  const dataDir = await mkdtemp(join(tmpdir(), 'hexhub-bench-index-'));
  const indexFile = join(dataDir, 'index.jsonl');
  const env = upstreamEnv(upstream.url, { HEXHUB_LOG_LEVEL: 'warn' });
  try {
    log(`index: writing a synthetic data dir of ${packages} packages / ${releases} releases`);
    await writeSyntheticCache(dataDir, packages, releasesPerPackage);
    const indexFileBytes = (await stat(indexFile)).size;

    const runsMs: number[] = [];
    const firstAnswerRunsMs: number[] = [];
    let server: ServeProcess | undefined;
    let rssAtListeningBytes = 0;
    for (let run = 0; run < plan.startups; run++) {
      const started = performance.now();
      server = await serve(['--port', '0', '--data-dir', dataDir], env);
      runsMs.push(performance.now() - started);
      const health = await httpGet(server.url, '/healthz');
      if (health.status !== 200) throw new Error(`/healthz right after start-up answered ${health.status}`);
      firstAnswerRunsMs.push(performance.now() - started);
      rssAtListeningBytes = (await memoryOf(server.child.pid!))?.rss ?? NaN;
      log(
        `index: start-up ${run + 1}/${plan.startups}: ${fmt(runsMs.at(-1)!, 0)} ms to listening, ${fmt(firstAnswerRunsMs.at(-1)!, 0)} ms to the first answer, RSS ${fmt(rssAtListeningBytes / MiB)} MiB`,
      );
      if (run < plan.startups - 1) await stop(server);
    }
    server = server!;
    try {
      const settledAfterMs = await settle(server.child.pid!);
      await sleep(2000);
      const rssBytes = (await memoryOf(server.child.pid!))?.rss ?? NaN;
      log(`index: idle after ${fmt(settledAfterMs / 1000)} s; RSS ${fmt(rssBytes / MiB)} MiB`);

      const before = await indexBytesWritten(server.url);
      const sizeBefore = (await stat(indexFile)).size;
      for (const name of names) {
        const reply = await httpGet(server.url, `/tarballs/${name}-1.0.0.tar`);
        if (reply.status !== 200 || reply.headers['x-hexhub-cache'] !== 'MISS')
          throw new Error(`cold ${name}: ${reply.status} ${String(reply.headers['x-hexhub-cache'])}`);
      }
      const bytesWritten = (await writtenOnceSettled(server.url)) - before;
      const sizeAfter = (await stat(indexFile)).size;
      // A compaction shrinks the file (or grows it by less than was written).
      const compacted = sizeAfter - sizeBefore < bytesWritten;
      const threshold = Math.max(4 * MiB, 2 * sizeBefore);
      const amortisedPer100 = ((compacted ? bytesWritten : bytesWritten * (1 + sizeBefore / (threshold - sizeBefore))) * 100) / names.length;
      log(
        `index: ${names.length} cold misses wrote ${bytesWritten} bytes to the index (file +${sizeAfter - sizeBefore}); amortised ${fmt(amortisedPer100 / 1024)} KiB per 100`,
      );

      const medianMs = median(runsMs);
      const figures: IndexScaleFigures = {
        packages,
        releases,
        indexFileBytes,
        startup: {
          runsMs: runsMs.map(Math.round),
          medianMs: Math.round(medianMs),
          firstAnswerRunsMs: firstAnswerRunsMs.map(Math.round),
          firstAnswerMedianMs: Math.round(median(firstAnswerRunsMs)),
          targetMs: plan.targets.startupMs,
          pass: medianMs <= plan.targets.startupMs,
        },
        idle: {
          rssBytes,
          rssAtListeningBytes,
          settledAfterMs: Math.round(settledAfterMs),
          targetBytes: plan.targets.idleRssBytes,
          pass: rssBytes <= plan.targets.idleRssBytes,
        },
        coldMisses: {
          count: names.length,
          bytesWritten,
          fileGrowthBytes: sizeAfter - sizeBefore,
          compacted,
          amortisedPer100: Math.round(amortisedPer100),
          targetBytes: plan.targets.bytesPer100ColdMisses,
          pass: amortisedPer100 <= plan.targets.bytesPer100ColdMisses,
        },
        pass: false,
      };
      figures.pass = figures.startup.pass && figures.idle.pass && figures.coldMisses.pass;
      return figures;
    } finally {
      await stop(server);
    }
  } finally {
    await upstream.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function indexScaleReport(r: IndexScaleFigures, noise: string): string[] {
  const { startup, idle, coldMisses } = r;
  return [
    '',
    `11. Index at hex.pm's size  [${PF(r.pass)}]${noise}`,
    `  ${r.packages} packages / ${r.releases} releases; index.jsonl ${fmt(r.indexFileBytes / MiB)} MiB`,
    `  a. start-up to listening: median ${fmt(startup.medianMs, 0)} ms (runs ${startup.runsMs.join(', ')} ms)  [${PF(startup.pass)}: ≤ ${startup.targetMs} ms]; ` +
      `to the first answer (waits for the index): median ${fmt(startup.firstAnswerMedianMs, 0)} ms (runs ${startup.firstAnswerRunsMs.join(', ')} ms)`,
    `  b. idle RSS ${fmt(idle.rssBytes / MiB)} MiB (${fmt(idle.rssAtListeningBytes / MiB)} MiB at listening; idle ${fmt(idle.settledAfterMs / 1000)} s after it, once reconciled)  [${PF(idle.pass)}: ≤ ${fmt(idle.targetBytes / MiB, 0)} MiB]`,
    `  c. ${coldMisses.count} cold misses wrote ${fmt(coldMisses.bytesWritten / 1024)} KiB to the index (file +${fmt(coldMisses.fileGrowthBytes / 1024)} KiB${coldMisses.compacted ? ', compacted meanwhile' : ''}); ` +
      `${fmt(coldMisses.amortisedPer100 / 1024)} KiB per 100 with compaction on average  [${PF(coldMisses.pass)}: ≤ ${fmt(coldMisses.targetBytes / 1e6, 0)} MB]`,
    '  (listing at this size: phase 6)',
  ];
}

export function indexScaleMarkdownRows(r: IndexScaleFigures): string[][] {
  const { startup, idle, coldMisses } = r;
  const scale = `${r.packages} packages / ${r.releases} releases`;
  return [
    [
      '11a',
      `start-up to listening, ${scale} (median of ${startup.runsMs.length})`,
      `${fmt(startup.medianMs, 0)} ms; first answer ${fmt(startup.firstAnswerMedianMs, 0)} ms`,
      `runs ${startup.runsMs.join(', ')} ms; first answer (a /healthz sent at the listening line, which waits for the index) ${startup.firstAnswerRunsMs.join(', ')} ms`,
      `≤ ${startup.targetMs} ms`,
      PF(startup.pass),
    ],
    [
      '11b',
      `idle RSS after start-up and reconciliation, ${scale}`,
      `${fmt(idle.rssBytes / MiB)} MiB`,
      `at listening ${fmt(idle.rssAtListeningBytes / MiB)} MiB; idle after ${fmt(idle.settledAfterMs / 1000)} s`,
      `≤ ${fmt(idle.targetBytes / MiB, 0)} MiB`,
      PF(idle.pass),
    ],
    [
      '11c',
      `bytes written to the index per ${coldMisses.count} cold misses, ${scale}`,
      `${fmt(coldMisses.amortisedPer100 / 1024)} KiB per 100 (compaction included on average)`,
      `appended ${fmt(coldMisses.bytesWritten / 1024)} KiB; index.jsonl ${fmt(r.indexFileBytes / MiB)} MiB`,
      `≤ ${fmt(coldMisses.targetBytes / 1e6, 0)} MB`,
      PF(coldMisses.pass),
    ],
  ];
}
