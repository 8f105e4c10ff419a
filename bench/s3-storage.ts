// Phase 8 of `npm run bench` (BENCH_ONLY=s3): the S3 storage backend (team mode,
// HEXHUB_STORAGE=s3) against the default filesystem backend, in the same run, on a real
// single-node Ceph radosgw (test/support/ceph.ts) started for the phase and stopped after it.
//
//   1. warm serving    the warm set and load of phase 1 (same fixtures, 32 connections, same
//                      duration knobs, interleaved rounds), against an fs-backed and an S3-backed
//                      HexHub, both warmed the same way. With S3 the bucket is the truth but
//                      serving reads the local copies and the 64 MiB hot cache, so warm serving
//                      should not depend on the backend: target s3 ≥ 0.9 × fs req/s.
//   2. cold misses     the cold set of phase 2 (upstream 20 ms away, registry warm, one at a time,
//                      a new connection each) through an fs-backed and an S3-backed HexHub,
//                      alternating, with the upstream alone as reference. On a miss the S3
//                      backend first looks the object up in the bucket (a GetObject that 404s,
//                      before the upstream request) and, once the body is verified, uploads it
//                      (PutObject, If-None-Match: *) before it releases the last chunk it holds
//                      back. Reported too: HexHub's own transfer time (its upstream_fetch log
//                      lines) and, as a reference, the same two radosgw requests made from this
//                      process (same SDK settings, same bytes) into a scratch bucket.
//   3. restore         a second S3-backed HexHub on the same bucket with an empty data dir serves
//                      the same objects: they only exist in the bucket, so each is a GET from
//                      radosgw, re-hashed, kept locally and served; no upstream request.
//
// Ceph's daemons are not our children: the noise figure of this phase includes their CPU,
// which is also reported separately. Only one Ceph cluster can run per machine (the monitor's
// port is fixed); the phase waits for one started by someone else (the S3 integration tests)
// to go away, for up to 10 minutes.
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { cephAvailable, newS3Client, startCeph, type Ceph } from '../test/support/ceph.js';
import type { ServeProcess } from '../test/support/cli.js';
import type { FakeUpstream } from '../test/support/fake-upstream.js';
import type { FixtureRelease } from '../test/support/hex-fixtures.js';
import { httpGet } from '../test/support/http.js';
import { seededRandom, shuffle } from '../test/support/sized-fixtures.js';
import type { LoadResult } from './load.js';
import { cpuSecondsOf, fetchDigest, fmt, mapLimit, MiB, sampleMemory, summarize, type Fetched, type Summary } from './util.js';

export const S3_PLAN = {
  /** Target: warm req/s with the S3 backend ≥ this × the fs backend's. */
  minRatio: 0.9,
  warmBucket: 'hexhub-bench-warm',
  coldBucket: 'hexhub-bench-cold',
  /** Scratch bucket for the radosgw reference requests made from the bench process. */
  referenceBucket: 'hexhub-bench-reference',
  prefix: 'bench/',
  /** How long to wait for a Ceph cluster someone else runs (one per machine). */
  waitForOtherCephSec: 600,
};

export interface WarmRun extends LoadResult {
  serverCpuPct: number;
  clientCpuPct: number;
  otherCpuPct: number;
}

type Mirror = ServeProcess & { dataDir: string; stop(): Promise<void> };

export interface S3Deps {
  upstream: FakeUpstream;
  warm: FixtureRelease[];
  cold: FixtureRelease[];
  coldUntimed: FixtureRelease[];
  warmPlan: { connections: number; durationSec: number; rounds: number; warmupSec: number };
  coldLatencyMs: number;
  log(line: string): void;
  startMirror(label: string, env?: Record<string, string>): Promise<Mirror>;
  /** Phase 1's interleaved autocannon load. */
  measureInterleaved(targets: { label: string; url: string; pid: number }[], paths: string[]): Promise<WarmRun[]>;
  checkFetched(what: string, got: Fetched, release: FixtureRelease): string | undefined;
  /** Registers a cleanup that runs even if the bench fails. */
  onCleanup(cleanup: () => Promise<unknown>): void;
}

export interface S3Figures {
  skipped?: undefined;
  warm: {
    tarballs: number;
    connections: number;
    durationSec: number;
    rounds: number;
    fs: WarmRun;
    s3: WarmRun;
    ratio: number;
    ratioPerRound: number[];
    upstreamRequestsDuringLoad: number;
    /** Peak RSS (VmHWM or sampled VmRSS) of each HexHub process up to the end of the load. */
    peakRssBytes: { fs: number; s3: number };
    /** Tarballs found in the bucket after the warm-up (must be all of them). */
    tarballsInBucket: number;
    cephCpuPct: number;
    allResponsesOk: boolean;
    pass: boolean;
  };
  cold: {
    releases: number;
    upstreamLatencyMs: number;
    sizeBytes: { min: number; max: number; mean: number };
    direct: Summary;
    fs: Summary;
    s3: Summary;
    ttfb: { direct: Summary; fs: Summary; s3: Summary };
    /** S3 minus fs, per miss, as the client sees it. */
    addedMs: { mean: number; p50: number };
    /** HexHub's own time per transfer (upstream_fetch log lines: lookup, upstream, verify, store). */
    transferMs: { fs: Summary; s3: Summary };
    /** The radosgw requests of an S3 miss, made from the bench process with the same bytes. */
    radosgw: { getMissing: Summary; putIfNoneMatch: Summary; sum: Summary };
    cephCpuPct: number;
  };
  restore: {
    releases: number;
    restored: Summary;
    ttfb: Summary;
    cacheStates: Record<string, number>;
    /** Upstream requests while restoring (tarballs must be 0). */
    upstreamTarballRequests: number;
    /** Registry records the second instance fetched from the upstream (untimed; restored from the bucket when 0). */
    upstreamRegistryRequests: number;
    objectsAdoptedAtStart: number | undefined;
    cephCpuPct: number;
  };
  pass: boolean;
}

export type S3PhaseResult = S3Figures | { skipped: string };

const tarballPath = (r: { name: string; version: string }) => `/tarballs/${r.name}-${r.version}.tar`;

function fail(message: string): never {
  throw new Error(`s3: ${message}`);
}

function pgrep(name: string): number[] {
  try {
    return execFileSync('pgrep', ['-x', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // exit status 1: none
  }
}

/** CPU seconds used so far by the Ceph daemons (ours: the phase made sure no other cluster runs). */
async function cephCpuSeconds(): Promise<number> {
  let total = 0;
  for (const name of ['ceph-mon', 'ceph-osd', 'radosgw']) for (const pid of pgrep(name)) total += await cpuSecondsOf(pid);
  return total;
}

/** CPU used by the Ceph daemons while `body` runs, % of one core. */
async function withCephCpu<T>(body: () => Promise<T>): Promise<[T, number]> {
  const cpu0 = await cephCpuSeconds();
  const t0 = performance.now();
  const result = await body();
  return [result, (100 * ((await cephCpuSeconds()) - cpu0)) / ((performance.now() - t0) / 1000)];
}

async function waitForOtherCeph(log: (line: string) => void): Promise<string | undefined> {
  const deadline = Date.now() + S3_PLAN.waitForOtherCephSec * 1000;
  let told = false;
  while (pgrep('ceph-mon').length > 0) {
    if (Date.now() > deadline)
      return `another Ceph cluster (ceph-mon pid ${pgrep('ceph-mon').join(', ')}) was still running after ${S3_PLAN.waitForOtherCephSec} s`;
    if (!told)
      log(`s3: another Ceph cluster is running (ceph-mon pid ${pgrep('ceph-mon').join(', ')}); waiting up to ${S3_PLAN.waitForOtherCephSec} s for it to stop`);
    told = true;
    await sleep(5000);
  }
  return undefined;
}

/** Fetches every release twice through `mirror`: a cold miss, then a hit; checks bytes and the HIT. */
async function warmUp(deps: S3Deps, mirror: Mirror, label: string): Promise<void> {
  const before = deps.upstream.countRequests('/tarballs/');
  const firsts = await mapLimit(deps.warm, 8, (r) => fetchDigest(mirror.url, tarballPath(r)));
  firsts.forEach((got, i) => {
    const problem = deps.checkFetched(`${label} cold ${tarballPath(deps.warm[i]!)}`, got, deps.warm[i]!);
    if (problem) fail(problem);
  });
  const seconds = await mapLimit(deps.warm, 8, (r) => fetchDigest(mirror.url, tarballPath(r)));
  seconds.forEach((got, i) => {
    const problem = deps.checkFetched(`${label} warm ${tarballPath(deps.warm[i]!)}`, got, deps.warm[i]!);
    if (problem) fail(problem);
    if (got.headers['x-hexhub-cache'] !== 'HIT')
      fail(`${label} warm ${tarballPath(deps.warm[i]!)}: X-HexHub-Cache ${String(got.headers['x-hexhub-cache'])}, expected HIT`);
  });
  const upstreamRequests = deps.upstream.countRequests('/tarballs/') - before;
  if (upstreamRequests !== deps.warm.length) fail(`${label} warm-up made ${upstreamRequests} upstream tarball requests, expected ${deps.warm.length}`);
}

async function warmServing(deps: S3Deps, ceph: Ceph): Promise<S3Figures['warm']> {
  const { log, warm } = deps;
  const fs = await deps.startMirror('s3-warm-fs');
  const s3 = await deps.startMirror('s3-warm-s3', { ...ceph.env(), HEXHUB_STORAGE: 's3', S3_BUCKET: S3_PLAN.warmBucket, S3_PREFIX: S3_PLAN.prefix });
  try {
    log(`s3 warm: fetching all ${warm.length} tarballs through each HexHub (fs, s3) once (cold), then once more (must be HITs)`);
    await warmUp(deps, fs, 'fs');
    await warmUp(deps, s3, 's3');
    const inBucket = (await ceph.listKeys(S3_PLAN.warmBucket, `${S3_PLAN.prefix}tarballs/`)).length;
    if (inBucket < warm.length) fail(`only ${inBucket} of ${warm.length} warm tarballs are in the bucket after the warm-up`);

    const paths = shuffle(warm.map(tarballPath), seededRandom(7));
    const upstreamBefore = deps.upstream.requests.length;
    const memory = { fs: sampleMemory(fs.child.pid!, 100), s3: sampleMemory(s3.child.pid!, 100) };
    const [[fsRun, s3Run], cephCpuPct] = await withCephCpu(
      async () =>
        (await deps.measureInterleaved(
          [
            { label: 'HexHub, fs backend', url: fs.url, pid: fs.child.pid! },
            { label: 'HexHub, S3 backend', url: s3.url, pid: s3.child.pid! },
          ],
          paths,
        )) as [WarmRun, WarmRun],
    );
    const upstreamDuringLoad = deps.upstream.requests.length - upstreamBefore;
    const peak = async (m: ReturnType<typeof sampleMemory>) => {
      const x = await m.stop();
      return Math.max(x.hwm, x.peakRss);
    };
    const peakRssBytes = { fs: await peak(memory.fs), s3: await peak(memory.s3) };
    const ratio = s3Run.reqPerSec / fsRun.reqPerSec;
    const clean = (r: LoadResult) => r.non2xx === 0 && r.errors === 0 && r.timeouts === 0;
    return {
      tarballs: warm.length,
      connections: deps.warmPlan.connections,
      durationSec: deps.warmPlan.durationSec,
      rounds: deps.warmPlan.rounds,
      fs: fsRun,
      s3: s3Run,
      ratio,
      ratioPerRound: s3Run.rounds.map((r, i) => r / fsRun.rounds[i]!),
      upstreamRequestsDuringLoad: upstreamDuringLoad,
      peakRssBytes,
      tarballsInBucket: inBucket,
      cephCpuPct,
      allResponsesOk: clean(fsRun) && clean(s3Run),
      pass: ratio >= S3_PLAN.minRatio && clean(fsRun) && clean(s3Run) && upstreamDuringLoad === 0,
    };
  } finally {
    await fs.stop();
    await s3.stop();
  }
}

/** HexHub's own time per stored tarball of `releases`, from its upstream_fetch log lines (stderr). */
function transferTimes(mirror: Mirror, releases: FixtureRelease[]): Summary {
  const wanted = new Set(releases.map((r) => `tarballs/${r.name}-${r.version}.tar`));
  const ms: number[] = [];
  for (const line of mirror.stderr().split('\n')) {
    if (!line.includes('"upstream_fetch"')) continue;
    try {
      const entry = JSON.parse(line) as { event?: string; key?: string; outcome?: string; ms?: number };
      if (entry.event === 'upstream_fetch' && entry.outcome === 'stored' && entry.key && wanted.has(entry.key) && typeof entry.ms === 'number')
        ms.push(entry.ms);
    } catch {
      // not a log line
    }
  }
  if (ms.length !== releases.length) fail(`found ${ms.length} upstream_fetch log lines for ${releases.length} cold tarballs`);
  return summarize(ms);
}

/**
 * The two radosgw requests of an S3 miss, from this process with an SDK client set up like
 * HexHub's (test/support/ceph.ts newS3Client), into a scratch bucket: a GetObject of a key that
 * is not there, then a PutObject of the release's bytes with If-None-Match: *. One at a time.
 */
async function radosgwReference(ceph: Ceph, releases: FixtureRelease[]): Promise<S3Figures['cold']['radosgw']> {
  const client = newS3Client(ceph);
  const get: number[] = [];
  const put: number[] = [];
  try {
    for (const [i, r] of [...releases.slice(0, 5), ...releases].entries()) {
      const key = `${i < 5 ? 'warmup' : 'timed'}/${r.name}-${r.version}.tar`;
      const t0 = performance.now();
      try {
        await client.send(new GetObjectCommand({ Bucket: S3_PLAN.referenceBucket, Key: key }));
        fail(`radosgw reference: ${key} exists`);
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw error;
      }
      const t1 = performance.now();
      await client.send(
        new PutObjectCommand({
          Bucket: S3_PLAN.referenceBucket,
          Key: key,
          Body: r.bytes,
          ContentLength: r.bytes.length,
          ContentType: 'application/octet-stream',
          IfNoneMatch: '*',
        }),
      );
      const t2 = performance.now();
      if (i >= 5) {
        get.push(t1 - t0);
        put.push(t2 - t1);
      }
    }
  } finally {
    client.destroy();
  }
  return { getMissing: summarize(get), putIfNoneMatch: summarize(put), sum: summarize(get.map((g, i) => g + put[i]!)) };
}

async function coldAndRestore(deps: S3Deps, ceph: Ceph): Promise<Pick<S3Figures, 'cold' | 'restore'>> {
  const { log, upstream, cold, coldUntimed } = deps;
  const s3Env = { ...ceph.env(), HEXHUB_STORAGE: 's3', S3_BUCKET: S3_PLAN.coldBucket, S3_PREFIX: S3_PLAN.prefix };
  const fs = await deps.startMirror('s3-cold-fs');
  const s3 = await deps.startMirror('s3-cold-s3', s3Env);
  const all = [...coldUntimed, ...cold];
  const packages = [...new Set(all.map((r) => r.name))];
  upstream.fault.latencyMs(deps.coldLatencyMs);
  let figures: S3Figures['cold'];
  try {
    log(`s3 cold: registry of ${packages.length} packages fetched through both HexHubs first (not timed)`);
    for (const mirror of [fs, s3]) {
      for (const name of packages) {
        const reply = await httpGet(mirror.url, `/packages/${name}`);
        if (reply.status !== 200) fail(`cold: /packages/${name} answered ${reply.status}`);
      }
    }
    const once = async (r: FixtureRelease, i: number) => {
      const direct = await fetchDigest(upstream.url, tarballPath(r));
      // Alternating which backend goes first, so that neither always follows the other.
      const first = i % 2 === 0 ? fs : s3;
      const second = first === fs ? s3 : fs;
      const a = await fetchDigest(first.url, tarballPath(r));
      const b = await fetchDigest(second.url, tarballPath(r));
      const [viaFs, viaS3] = first === fs ? [a, b] : [b, a];
      for (const [what, got] of [
        ['direct', direct],
        ['fs', viaFs],
        ['s3', viaS3],
      ] as const) {
        const problem = deps.checkFetched(`cold ${what} ${tarballPath(r)}`, got, r);
        if (problem) fail(problem);
      }
      for (const [what, got] of [
        ['fs', viaFs],
        ['s3', viaS3],
      ] as const) {
        if (got.headers['x-hexhub-cache'] !== 'MISS')
          fail(`cold ${what} ${tarballPath(r)}: X-HexHub-Cache ${String(got.headers['x-hexhub-cache'])}, expected MISS`);
      }
      return { direct, viaFs, viaS3 };
    };
    const before = new Map(all.map((r) => [r, upstream.countRequests(tarballPath(r))]));
    for (const [i, r] of coldUntimed.entries()) await once(r, i); // JIT, connections and the S3 client warm-up, not timed
    log(`s3 cold: ${cold.length} cold tarballs, each straight from the upstream, then through the fs-backed and the S3-backed HexHub`);
    const times = { direct: [] as Fetched[], fs: [] as Fetched[], s3: [] as Fetched[] };
    const [, cephCpuPct] = await withCephCpu(async () => {
      for (const [i, r] of cold.entries()) {
        const t = await once(r, i);
        times.direct.push(t.direct);
        times.fs.push(t.viaFs);
        times.s3.push(t.viaS3);
      }
    });
    const perTarball = all.map((r) => upstream.countRequests(tarballPath(r)) - before.get(r)!);
    if (perTarball.some((n) => n !== 3)) fail(`cold: expected 3 upstream requests per tarball (direct, fs, s3), got ${perTarball.join(',')}`);
    const total = (xs: Fetched[]) => summarize(xs.map((x) => x.ms));
    const ttfb = (xs: Fetched[]) => summarize(xs.map((x) => x.ttfbMs));
    const sizes = cold.map((r) => r.bytes.length);
    const f = total(times.fs);
    const s = total(times.s3);
    figures = {
      releases: cold.length,
      upstreamLatencyMs: deps.coldLatencyMs,
      sizeBytes: { min: Math.min(...sizes), max: Math.max(...sizes), mean: sizes.reduce((x, y) => x + y, 0) / sizes.length },
      direct: total(times.direct),
      fs: f,
      s3: s,
      ttfb: { direct: ttfb(times.direct), fs: ttfb(times.fs), s3: ttfb(times.s3) },
      addedMs: { mean: s.mean - f.mean, p50: s.p50 - f.p50 },
      transferMs: { fs: transferTimes(fs, cold), s3: transferTimes(s3, cold) },
      radosgw: await radosgwReference(ceph, cold),
      cephCpuPct,
    };
  } finally {
    upstream.fault.clear();
    await fs.stop();
    await s3.stop();
  }

  // A second instance on the same bucket, empty data dir: the objects exist only in the bucket.
  log('s3 restore: a second S3-backed HexHub on the same bucket, with an empty data dir');
  upstream.fault.latencyMs(deps.coldLatencyMs); // as for the cold misses, should anything reach the upstream
  const second = await deps.startMirror('s3-restore', s3Env);
  try {
    // Its start-up sync adopts the bucket's objects into its index (a HEAD each, in the
    // background); wait for it, so that it does not compete with the timed requests.
    const deadline = Date.now() + 60_000;
    while (!second.stderr().includes('"event":"s3_synced"') && Date.now() < deadline) await sleep(100);
    const synced = /"event":"s3_synced"[^\n]*?"adopted":(\d+)/.exec(second.stderr());
    if (!synced) log('s3 restore: no s3_synced log line within 60 s; going on');
    const registryBefore = upstream.countRequests('/packages/');
    for (const name of packages) {
      const reply = await httpGet(second.url, `/packages/${name}`);
      if (reply.status !== 200) fail(`restore: /packages/${name} answered ${reply.status}`);
    }
    const registryRequests = upstream.countRequests('/packages/') - registryBefore;
    const tarballsBefore = upstream.countRequests('/tarballs/');
    const fetchChecked = async (r: FixtureRelease) => {
      const got = await fetchDigest(second.url, tarballPath(r));
      const problem = deps.checkFetched(`restore ${tarballPath(r)}`, got, r);
      if (problem) fail(problem);
      return got;
    };
    for (const r of coldUntimed) await fetchChecked(r); // warm-up, not timed
    log(`s3 restore: the same ${cold.length} tarballs, one at a time, from the second HexHub`);
    const got: Fetched[] = [];
    const [, cephCpuPct] = await withCephCpu(async () => {
      for (const r of cold) got.push(await fetchChecked(r));
    });
    const upstreamTarballs = upstream.countRequests('/tarballs/') - tarballsBefore;
    if (upstreamTarballs !== 0) fail(`restore: ${upstreamTarballs} upstream tarball requests, expected 0 (the objects are in the bucket)`);
    const states: Record<string, number> = {};
    for (const g of got) {
      const state = String(g.headers['x-hexhub-cache'] ?? 'none');
      states[state] = (states[state] ?? 0) + 1;
    }
    return {
      cold: figures,
      restore: {
        releases: cold.length,
        restored: summarize(got.map((g) => g.ms)),
        ttfb: summarize(got.map((g) => g.ttfbMs)),
        cacheStates: states,
        upstreamTarballRequests: upstreamTarballs,
        upstreamRegistryRequests: registryRequests,
        objectsAdoptedAtStart: synced ? Number(synced[1]) : undefined,
        cephCpuPct,
      },
    };
  } finally {
    upstream.fault.clear();
    await second.stop();
  }
}

export async function benchS3(deps: S3Deps): Promise<S3PhaseResult> {
  const { log } = deps;
  if (!cephAvailable()) {
    const reason = 'Ceph is not installed (ceph-mon, ceph-osd, radosgw and curl are needed; see test/support/ceph.ts)';
    log(`s3: SKIPPED: ${reason}`);
    return { skipped: reason };
  }
  const busy = await waitForOtherCeph(log);
  if (busy) {
    log(`s3: SKIPPED: ${busy}`);
    return { skipped: busy };
  }
  log('s3: starting a single-node Ceph cluster with radosgw (~12 s)');
  const t0 = performance.now();
  const ceph = await startCeph();
  deps.onCleanup(() => ceph.stop());
  try {
    log(`s3: radosgw at ${ceph.endpoint} after ${fmt((performance.now() - t0) / 1000, 1)} s`);
    // The SDK in this process (ceph.createBucket) warns about Node 20 otherwise.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    await ceph.createBucket(S3_PLAN.warmBucket);
    await ceph.createBucket(S3_PLAN.coldBucket);
    await ceph.createBucket(S3_PLAN.referenceBucket);
    const warm = await warmServing(deps, ceph);
    const { cold, restore } = await coldAndRestore(deps, ceph);
    return { warm, cold, restore, pass: warm.pass };
  } finally {
    await ceph.stop();
    log('s3: Ceph stopped');
  }
}

// ------------------------------------------------------------------ report

const PF = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
const kib = (b: number) => `${fmt(b / 1024)} KiB`;

export function s3Targets(r: S3PhaseResult) {
  if (r.skipped !== undefined) return [];
  return [{ id: '8', name: 'warm req/s, S3 backend / fs backend (same load as 1)', value: r.warm.ratio, target: `>= ${S3_PLAN.minRatio}`, pass: r.warm.pass }];
}

export function s3Report(r: S3PhaseResult, noise: string, warmupSec: number): string[] {
  const out = [''];
  if (r.skipped !== undefined) {
    out.push(`8. S3 storage (team mode)  [SKIPPED: ${r.skipped}]`);
    return out;
  }
  const { warm, cold, restore } = r;
  const load = (label: string, x: WarmRun) =>
    `  ${label.padEnd(22)} ${fmt(x.reqPerSec, 0).padStart(7)} req/s  ${fmt(x.bytesPerSec / MiB, 0).padStart(5)} MiB/s  latency mean ${fmt(x.latencyMs.mean)} p50 ${fmt(x.latencyMs.p50)} p99 ${fmt(x.latencyMs.p99)} max ${fmt(x.latencyMs.max)} ms  (rounds: ${x.rounds.map((v) => fmt(v, 0)).join(', ')} req/s)\n` +
    `  ${''.padEnd(22)} 2xx ${x.ok2xx}/${x.requests}, non-2xx ${x.non2xx}, errors ${x.errors}, timeouts ${x.timeouts};  CPU (% of one core): server ${fmt(x.serverCpuPct, 0)}, load generator ${fmt(x.clientCpuPct, 0)}, other processes ${fmt(x.otherCpuPct, 0)}`;
  const row = (label: string, s: Summary, t: Summary) =>
    `  ${label.padEnd(34)} mean ${fmt(s.mean, 2)}  p50 ${fmt(s.p50, 2)}  p99 ${fmt(s.p99, 2)}  min ${fmt(s.min, 2)}  max ${fmt(s.max, 2)} ms;  to headers: mean ${fmt(t.mean, 2)} p50 ${fmt(t.p50, 2)} ms`;
  out.push(`8. S3 storage (team mode, single-node Ceph radosgw on loopback)  [${PF(r.pass)}]${noise}`);
  out.push('  (other processes include the Ceph daemons, which are not children of the bench; their own share is shown per step)');
  out.push(
    `  a. warm serving: phase 1's ${warm.tarballs} tarballs and load, ${warm.connections} connections, ${warm.durationSec} s per backend as ${warm.rounds} interleaved rounds after a discarded ${warmupSec} s warm-up`,
  );
  out.push(load('HexHub, fs backend', warm.fs));
  out.push(load('HexHub, S3 backend', warm.s3));
  out.push(
    `  S3 / fs = ${fmt(warm.ratio, 2)}  (target ≥ ${S3_PLAN.minRatio});  per round: ${warm.ratioPerRound.map((x) => fmt(x, 2)).join(', ')};  upstream requests during the load: ${warm.upstreamRequestsDuringLoad};  ${warm.tarballsInBucket} tarballs in the bucket;  Ceph CPU ${fmt(warm.cephCpuPct, 0)} %`,
  );
  out.push(`  peak RSS up to the end of the load: fs ${fmt(warm.peakRssBytes.fs / MiB)} MiB, S3 ${fmt(warm.peakRssBytes.s3 / MiB)} MiB`);
  out.push(
    `  b. cold misses: ${cold.releases} releases (${kib(cold.sizeBytes.min)}–${kib(cold.sizeBytes.max)}, mean ${kib(cold.sizeBytes.mean)}), one at a time, upstream +${cold.upstreamLatencyMs} ms, registry warm; fs and S3 alternate`,
  );
  out.push(row('straight from upstream', cold.direct, cold.ttfb.direct));
  out.push(row('HexHub, fs backend (MISS)', cold.fs, cold.ttfb.fs));
  out.push(row('HexHub, S3 backend (MISS)', cold.s3, cold.ttfb.s3));
  out.push(
    `  S3 adds ${fmt(cold.addedMs.mean, 2)} ms per miss (mean; p50 ${fmt(cold.addedMs.p50, 2)} ms): the bucket lookup (GetObject, 404) before the upstream request, and the upload`,
  );
  out.push(
    '  of the verified object (PutObject, If-None-Match: *) before the last chunk is released (small tarballs arrive in one or two chunks, so the headers wait for it too)',
  );
  out.push(
    `  HexHub's own transfer time (upstream_fetch log lines): fs p50 ${fmt(cold.transferMs.fs.p50, 0)} mean ${fmt(cold.transferMs.fs.mean, 1)} ms, S3 p50 ${fmt(cold.transferMs.s3.p50, 0)} mean ${fmt(cold.transferMs.s3.mean, 1)} ms;  Ceph CPU ${fmt(cold.cephCpuPct, 0)} %`,
  );
  out.push(
    `  the same two radosgw requests from the bench process: GetObject (404) p50 ${fmt(cold.radosgw.getMissing.p50, 2)} mean ${fmt(cold.radosgw.getMissing.mean, 2)} ms, PutObject p50 ${fmt(cold.radosgw.putIfNoneMatch.p50, 2)} mean ${fmt(cold.radosgw.putIfNoneMatch.mean, 2)} ms; together p50 ${fmt(cold.radosgw.sum.p50, 2)} mean ${fmt(cold.radosgw.sum.mean, 2)} ms`,
  );
  out.push(
    `  c. restore: a second S3-backed HexHub, same bucket, empty data dir (start-up sync adopted ${restore.objectsAdoptedAtStart ?? '?'} objects; registry records from the upstream: ${restore.upstreamRegistryRequests})`,
  );
  out.push(row('same tarballs, from the bucket', restore.restored, restore.ttfb));
  out.push(
    `  p50 ${fmt(restore.restored.p50, 2)} ms vs cold from the upstream p50 ${fmt(cold.fs.p50, 2)} ms (fs) / ${fmt(cold.s3.p50, 2)} ms (S3);  upstream tarball requests: ${restore.upstreamTarballRequests};  X-HexHub-Cache ${JSON.stringify(restore.cacheStates)};  Ceph CPU ${fmt(restore.cephCpuPct, 0)} %`,
  );
  return out;
}

export function s3MarkdownRows(r: S3PhaseResult): string[][] {
  if (r.skipped !== undefined) return [['8', 'S3 storage (team mode)', 'skipped', r.skipped, '', 'n/a']];
  const { warm, cold, restore } = r;
  const ms = (v: number) => `${fmt(v)} ms`;
  const loadCell = (x: WarmRun) => `${fmt(x.reqPerSec, 0)} req/s, p50 ${fmt(x.latencyMs.p50, 1)} ms, p99 ${fmt(x.latencyMs.p99, 1)} ms`;
  return [
    [
      '8',
      `S3 backend, warm tarballs: load of 1 (${warm.connections} connections, ${warm.durationSec} s, ${warm.tarballs} tarballs)`,
      loadCell(warm.s3),
      `fs backend: ${loadCell(warm.fs)}`,
      `≥ ${S3_PLAN.minRatio} × fs req/s; got ${fmt(warm.ratio, 2)} ×`,
      PF(warm.pass),
    ],
    [
      '8b',
      `S3 backend, cold miss: ${cold.releases} sequential tarballs, upstream +${cold.upstreamLatencyMs} ms, registry warm`,
      `mean ${ms(cold.s3.mean)}, p50 ${ms(cold.s3.p50)}`,
      `fs backend: mean ${ms(cold.fs.mean)}, p50 ${ms(cold.fs.p50)}; straight from upstream: mean ${ms(cold.direct.mean)}`,
      `none; S3 adds ${ms(cold.addedMs.mean)} per miss (mean; radosgw GetObject 404 + PutObject from the bench process: ${ms(cold.radosgw.sum.mean)})`,
      'n/a',
    ],
    [
      '8c',
      `second S3 instance, empty data dir: the same ${restore.releases} tarballs from the bucket (${restore.upstreamTarballRequests} upstream requests)`,
      `p50 ${ms(restore.restored.p50)}, mean ${ms(restore.restored.mean)}`,
      `cold from the upstream: p50 ${ms(cold.fs.p50)} (fs), ${ms(cold.s3.p50)} (S3)`,
      'none',
      'n/a',
    ],
  ];
}
