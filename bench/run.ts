// `npm run bench`: HexHub against its references, measured in the same run.
//
//   1. warm tarball serving   autocannon, 32 connections, hex.pm-like size mix; vs nginx on the same files
//   2. cold-miss overhead     sequential cold tarballs, upstream 20 ms away; vs straight from the upstream;
//                             registry warm (record fetched beforehand) and registry cold (fresh packages: 2b)
//   3. thundering herd        100 concurrent requests for one uncached tarball; upstream requests must be 1
//   4. memory while streaming 1 GiB of cold tarballs through the mirror; peak RSS (VmHWM) of the process
//   5. pre-warm of a 150-package lock, upstream 50 ms away; vs one at a time and the ideal (bench/cache-management.ts)
//   6. cache listing pages over 20,000 packages / 200,000 releases; p50 per page (bench/cache-management.ts)
//   7. load under a flapping upstream: autocannon, 64 connections, 60 s, warm + registry + cold mix while every
//      other upstream request is a 503; 0 wrong bytes, 0 warm 5xx, RSS flat (bench/reliability-load.ts)
//   8. S3 storage (team mode) on a real single-node Ceph radosgw started for the phase: warm serving as in 1, S3 vs fs
//      backend (target ≥ 0.9 × fs); cold misses as in 2 through both backends (what the S3 path adds per miss); a second
//      instance on the same bucket with an empty data dir restoring the objects from the bucket (bench/s3-storage.ts).
//      Skipped, with the reason, where Ceph is not installed; waits for another Ceph cluster to stop (one per machine)
//   9. rebar3 compile of a project with 45 generated hex deps, upstream 50 ms away: straight from the upstream, through
//      a cold HexHub, through the same HexHub warm; medians of 3 interleaved rounds (bench/rebar3-workload.ts).
//      Skipped, with the reason, where rebar3 is not installed
//  10. a working set 10× the hot cache (~700 MB): filled cold through a fresh mirror (peak RSS), then the load of 1,
//      Zipf (s = 1.0) and uniform, vs nginx on a copy of the same files (bench/large-working-set.ts)
//  11. the cache index at hex.pm's size (20,000 packages / 200,000 releases): start-up to listening, idle RSS, bytes
//      written to the index per 100 cold misses (bench/index-scale.ts)
//
// The mirror is the real built `./bin/hexhub serve` process (test/support/cli.ts), the
// upstream is the fake hex.pm of the tests (test/support/fake-upstream.ts) serving real
// fixture tarballs (test/support/hex-fixtures.ts) from memory in this process.
//
// Writes bench/results/latest.json; prints a report and a Markdown table for BENCHMARKS.md.
// Knobs (environment): BENCH_DURATION (s, default 15), BENCH_QUICK=1 (short runs, for
// trying the harness; the load phase then runs 10 s), BENCH_ONLY=warm,cold,herd,rss,prewarm,catalog,load,s3,rebar3,large,index
// (run some phases), BENCH_LOAD_DURATION (s, default 60), BENCH_LOAD_REGISTRY_TTL (s, default 5),
// BENCH_LOAD_FLAP=0 (the load phase against a healthy upstream: a latency reference that cannot pass),
// BENCH_WARM_TARBALLS (size of the warm set, default 200; ~1000 exceeds the 64 MiB hot cache), BENCH_COMMIT (names the
// code when it is not a git checkout), BENCH_REBAR3_ROUNDS (default 3), BENCH_REBAR3_PACKAGES (default 45), BENCH_CPU_PROF=1
// (write a V8 CPU profile of each HexHub process to bench/results/profiles/LABEL.cpuprofile),
// NGINX (path, default /usr/sbin/nginx).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, release as osRelease, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, upstreamEnv, type ServeProcess } from '../test/support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../test/support/fake-upstream.js';
import { FixtureRepo, type FixtureRelease } from '../test/support/hex-fixtures.js';
import { httpGet } from '../test/support/http.js';
import { buildSized, hexLikeSizes, publishSharing, publishSized, seededRandom, shuffle } from '../test/support/sized-fixtures.js';
import { mergeRuns, runLoad, type LoadResult, type LoadRun } from './load.js';
import { nginxVersion, startNginx } from './nginx.js';
import { benchCatalog, benchPrewarm, type CatalogFigures, type PrewarmFigures } from './cache-management.js';
import { benchReliabilityLoad, LOAD_PLAN, loadMarkdownRow, loadReport, type LoadPhaseFigures } from './reliability-load.js';
import { benchS3, S3_PLAN, s3MarkdownRows, s3Report, s3Targets, type S3PhaseResult } from './s3-storage.js';
import { benchIndexScale, INDEX_SCALE_PLAN, indexScaleMarkdownRows, indexScaleReport, type IndexScaleFigures } from './index-scale.js';
import { benchLargeWorkingSet, LARGE_PLAN, largeMarkdownRows, largeReport, largeTargets, type LargeFigures } from './large-working-set.js';
import { benchRebar3, REBAR3_PLAN, rebar3MarkdownRow, rebar3Report, rebar3Targets, type Rebar3PhaseResult } from './rebar3-workload.js';
import { cpuSecondsOf, fetchDigest, fmt, mapLimit, noiseMeter, memoryOf, MiB, sampleMemory, summarize, type Fetched, type Summary } from './util.js';

const QUICK = process.env.BENCH_QUICK === '1';
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const PROFILES = join(RESULTS, 'profiles');

const PLAN = {
  warm: {
    tarballs: Number(process.env.BENCH_WARM_TARBALLS ?? 200),
    packages: 50,
    connections: 32,
    durationSec: Number(process.env.BENCH_DURATION ?? (QUICK ? 6 : 15)),
    rounds: QUICK ? 2 : 5,
    warmupSec: QUICK ? 1 : 3,
    minRatio: 0.6,
  },
  cold: {
    releases: QUICK ? 30 : 100,
    untimed: 5,
    packages: 20,
    latencyMs: 20,
    minKB: 20,
    maxKB: 120,
    slack: 1.1,
    slackMs: 5,
    /**
     * Registry cold: this many fresh packages, one timed release each (the first request ever for its package), after a few
     * untimed ones; as many again, interleaved, whose records the upstream serves pre-signed (see coldRegistryMisses).
     */
    registryColdPackages: QUICK ? 30 : 80,
    registryColdUntimed: 5,
  },
  herd: { clients: 100, bytes: 1 * MiB, latencyMs: 20 },
  rss: { tarballs: QUICK ? 16 : 64, bytes: 16 * MiB, distinct: 2, concurrency: 8, limit: 200 * MiB },
};

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const tarballPath = (r: { name: string; version: string }) => `/tarballs/${r.name}-${r.version}.tar`;

const cleanups: (() => Promise<unknown>)[] = [];
async function cleanup(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch((error: Error) => log(`cleanup: ${error.message}`));
}

async function startMirror(
  upstream: FakeUpstream,
  label: string,
  extraEnv: Record<string, string> = {},
): Promise<ServeProcess & { dataDir: string; stop(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), `hexhub-bench-${label}-`));
  const env = { ...extraEnv };
  if (CPU_PROF) {
    await mkdir(PROFILES, { recursive: true });
    Object.assign(env, {
      NODE_OPTIONS: `--import=${fileURLToPath(new URL('./cpu-profile.mjs', import.meta.url))}`,
      HEXHUB_CPU_PROFILE: join(PROFILES, `${label}.cpuprofile`),
    });
  }
  const proc = await serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url, env)).catch(async (error: Error) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  cleanups.push(stop);
  return { ...proc, dataDir, stop };
}

/** A bench/*.mjs reference server as its own process, once it printed its listening line. */
async function startNodeScript(script: string, arg: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), arg], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`${script} exited before listening`)));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  cleanups.push(stop);
  return { url, pid: child.pid!, stop };
}

/** bench/passthrough.mjs: a bare Node proxy to the upstream, the floor for any mirror. */
const startPassthrough = (upstreamUrl: string) => startNodeScript('./passthrough.mjs', upstreamUrl);

/** bench/bare-static.mjs: bare Node serving the files under `root` from memory, the ceiling for any Node mirror's warm hits. */
const startBareStatic = (root: string) => startNodeScript('./bare-static.mjs', root);

function checkFetched(what: string, got: Fetched, release: FixtureRelease): string | undefined {
  if (got.error) return `${what}: ${got.error}`;
  if (got.status !== 200) return `${what}: status ${got.status}`;
  if (got.sha256 !== release.outerChecksum) return `${what}: wrong bytes (${got.bytes} bytes, sha256 ${got.sha256.slice(0, 12)}…)`;
  return undefined;
}

function fail(message: string): never {
  throw new Error(message);
}

// ------------------------------------------------------------------ fixtures

interface Fixtures {
  warm: FixtureRelease[];
  cold: FixtureRelease[];
  coldUntimed: FixtureRelease[];
  /** One release per package, each package fresh: its registry record is cold when its tarball is asked for (2 × registryColdPackages). */
  coldRegistry: FixtureRelease[];
  coldRegistryUntimed: FixtureRelease[];
  herdWarm: FixtureRelease;
  herdCold: FixtureRelease;
  big: FixtureRelease[];
}

async function buildFixtures(repo: FixtureRepo): Promise<Fixtures> {
  const random = seededRandom(20240601);
  const warm: FixtureRelease[] = [];
  const sizes = hexLikeSizes(PLAN.warm.tarballs, random);
  for (let i = 0; i < sizes.length; i++) {
    const name = `warm_pkg_${String(i % PLAN.warm.packages).padStart(2, '0')}`;
    warm.push(await publishSized(repo, name, `1.${Math.floor(i / PLAN.warm.packages)}.0`, sizes[i]!, 1000 + i));
  }
  const cold: FixtureRelease[] = [];
  const total = PLAN.cold.untimed + PLAN.cold.releases;
  for (let i = 0; i < total; i++) {
    const size = Math.round(1024 * Math.exp(Math.log(PLAN.cold.minKB) + random() * Math.log(PLAN.cold.maxKB / PLAN.cold.minKB)));
    cold.push(
      await publishSized(repo, `cold_pkg_${String(i % PLAN.cold.packages).padStart(2, '0')}`, `2.${Math.floor(i / PLAN.cold.packages)}.0`, size, 5000 + i),
    );
  }
  const coldRegistry: FixtureRelease[] = [];
  const fresh = PLAN.cold.registryColdUntimed + 2 * PLAN.cold.registryColdPackages;
  for (let i = 0; i < fresh; i++) {
    const size = Math.round(1024 * Math.exp(Math.log(PLAN.cold.minKB) + random() * Math.log(PLAN.cold.maxKB / PLAN.cold.minKB)));
    coldRegistry.push(await publishSized(repo, `cold_reg_pkg_${String(i).padStart(3, '0')}`, '1.0.0', size, 7000 + i));
  }
  const herdWarm = await publishSized(repo, 'herd_registry_warm', '1.0.0', PLAN.herd.bytes, 9001);
  const herdCold = await publishSized(repo, 'herd_registry_cold', '1.0.0', PLAN.herd.bytes, 9002);
  const shared = [];
  for (let i = 0; i < PLAN.rss.distinct; i++) shared.push(await buildSized('big_pkg', `0.0.${i + 1}`, PLAN.rss.bytes, 9100 + i));
  const big: FixtureRelease[] = [];
  for (let i = 0; i < PLAN.rss.tarballs; i++) big.push(await publishSharing(repo, 'big_pkg', `1.0.${i}`, shared[i % shared.length]!));
  return {
    warm,
    cold: cold.slice(PLAN.cold.untimed),
    coldUntimed: cold.slice(0, PLAN.cold.untimed),
    coldRegistry: coldRegistry.slice(PLAN.cold.registryColdUntimed),
    coldRegistryUntimed: coldRegistry.slice(0, PLAN.cold.registryColdUntimed),
    herdWarm,
    herdCold,
    big,
  };
}

// ------------------------------------------------------------------ 1. warm serving

interface ServerRun extends LoadResult {
  serverCpuPct: number;
  clientCpuPct: number;
  /** CPU used meanwhile by processes that are not part of the benchmark (noise), % of one core. */
  otherCpuPct: number;
}

interface Target {
  label: string;
  url: string;
  /** Whose CPU time counts as the server's (the process and its direct children). */
  pid: number;
}

/**
 * The load, interleaved: a discarded warm-up per target, then `rounds` rounds in which
 * every target gets durationSec / rounds in turn, so that a burst of noise on the machine
 * does not land on one target only. Latency percentiles are over every response.
 */
async function measureInterleaved(targets: Target[], paths: string[]): Promise<ServerRun[]> {
  const { connections, warmupSec, rounds, durationSec } = PLAN.warm;
  for (const t of targets) await runLoad(t.url, paths, connections, warmupSec);
  const runs = targets.map(() => [] as LoadRun[]);
  const cpu = targets.map(() => ({ server: 0, client: 0, other: 0, wall: 0 }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, t] of targets.entries()) {
      log(`warm: round ${round + 1}/${rounds}, ${t.label}, ${connections} connections, ${fmt(durationSec / rounds, 1)} s`);
      const server0 = await cpuSecondsOf(t.pid);
      const noise = await noiseMeter();
      const client0 = process.cpuUsage();
      const t0 = performance.now();
      runs[i]!.push(await runLoad(t.url, paths, connections, durationSec / rounds));
      const wall = (performance.now() - t0) / 1000;
      cpu[i]!.wall += wall;
      cpu[i]!.other += ((await noise.stop()) * wall) / 100;
      const client = process.cpuUsage(client0);
      cpu[i]!.client += (client.user + client.system) / 1e6;
      cpu[i]!.server += (await cpuSecondsOf(t.pid)) - server0;
    }
  }
  return targets.map((_, i) => ({
    ...mergeRuns(runs[i]!),
    serverCpuPct: (100 * cpu[i]!.server) / cpu[i]!.wall,
    clientCpuPct: (100 * cpu[i]!.client) / cpu[i]!.wall,
    otherCpuPct: (100 * cpu[i]!.other) / cpu[i]!.wall,
  }));
}

async function warmServing(upstream: FakeUpstream, fx: Fixtures) {
  const mirror = await startMirror(upstream, 'warm');
  const paths = shuffle(fx.warm.map(tarballPath), seededRandom(7));

  log(`warm: fetching all ${fx.warm.length} tarballs through the mirror once (cold), then once more (must be HITs)`);
  const before = upstream.countRequests('/tarballs/');
  const firsts = await mapLimit(fx.warm, 8, (r) => fetchDigest(mirror.url, tarballPath(r)));
  firsts.forEach((got, i) => {
    const problem = checkFetched(`mirror cold ${tarballPath(fx.warm[i]!)}`, got, fx.warm[i]!);
    if (problem) fail(problem);
  });
  const seconds = await mapLimit(fx.warm, 8, (r) => fetchDigest(mirror.url, tarballPath(r)));
  seconds.forEach((got, i) => {
    const problem = checkFetched(`mirror warm ${tarballPath(fx.warm[i]!)}`, got, fx.warm[i]!);
    if (problem) fail(problem);
    if (got.headers['x-hexhub-cache'] !== 'HIT')
      fail(`mirror warm ${tarballPath(fx.warm[i]!)}: X-HexHub-Cache ${String(got.headers['x-hexhub-cache'])}, expected HIT`);
  });
  const upstreamWarmup = upstream.countRequests('/tarballs/') - before;
  if (upstreamWarmup !== fx.warm.length) fail(`warm-up made ${upstreamWarmup} upstream tarball requests, expected ${fx.warm.length}`);

  // nginx serves a copy of exactly what the mirror stored.
  const root = await mkdtemp(join(tmpdir(), 'hexhub-bench-www-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  await cp(join(mirror.dataDir, 'cache', 'tarballs'), join(root, 'tarballs'), { recursive: true });
  const bytesTotal = fx.warm.reduce((a, r) => a + r.bytes.length, 0);
  const sorted = fx.warm.map((r) => r.bytes.length).sort((a, b) => a - b);

  const nginx1 = await startNginx(root, '1');
  cleanups.push(() => nginx1.stop());
  const nginxAuto = await startNginx(root, 'auto');
  cleanups.push(() => nginxAuto.stop());
  const bare = await startBareStatic(root);
  for (const server of [nginx1, nginxAuto, bare]) {
    const checks = await mapLimit(fx.warm, 8, (r) => fetchDigest(server.url, tarballPath(r)));
    checks.forEach((got, i) => {
      const problem = checkFetched(`nginx ${tarballPath(fx.warm[i]!)}`, got, fx.warm[i]!);
      if (problem) fail(problem);
    });
  }

  const upstreamBefore = upstream.requests.length;
  const memory = sampleMemory(mirror.child.pid!, 100);
  const [mirrorRun, reference, auto, bareRun] = (await measureInterleaved(
    [
      { label: 'HexHub', url: mirror.url, pid: mirror.child.pid! },
      { label: 'nginx worker_processes 1', url: nginx1.url, pid: nginx1.pid },
      { label: 'nginx worker_processes auto', url: nginxAuto.url, pid: nginxAuto.pid },
      { label: 'bare Node, files in memory', url: bare.url, pid: bare.pid },
    ],
    paths,
  )) as [ServerRun, ServerRun, ServerRun, ServerRun];
  const mirrorMem = await memory.stop();
  const upstreamDuringLoad = upstream.requests.length - upstreamBefore;
  await nginx1.stop();
  await nginxAuto.stop();
  await bare.stop();
  await mirror.stop();

  const ratio = mirrorRun.reqPerSec / reference.reqPerSec;
  const clean = (r: LoadResult) => r.non2xx === 0 && r.errors === 0 && r.timeouts === 0;
  return {
    tarballs: fx.warm.length,
    bytesTotal,
    sizeBytes: {
      min: sorted[0]!,
      p50: sorted[Math.floor(sorted.length / 2)]!,
      p90: sorted[Math.floor(sorted.length * 0.9)]!,
      max: sorted[sorted.length - 1]!,
      mean: bytesTotal / sorted.length,
    },
    connections: PLAN.warm.connections,
    durationSec: PLAN.warm.durationSec,
    rounds: PLAN.warm.rounds,
    mirror: { ...mirrorRun, peakRssBytes: Math.max(mirrorMem.peakRss, mirrorMem.hwm), upstreamRequestsDuringLoad: upstreamDuringLoad },
    nginx1: reference,
    nginxAuto: auto,
    bareNode: bareRun,
    ratio,
    ratioPerRound: mirrorRun.rounds.map((r, i) => r / reference.rounds[i]!),
    ratioMedianOfRounds: summarize(mirrorRun.rounds.map((r, i) => r / reference.rounds[i]!)).p50,
    ratioVsAuto: mirrorRun.reqPerSec / auto.reqPerSec,
    /** What Node's HTTP server itself reaches against nginx here: the ceiling for HexHub's ratio. */
    bareRatio: bareRun.reqPerSec / reference.reqPerSec,
    allResponsesOk: clean(mirrorRun) && clean(reference) && clean(auto),
    pass: ratio >= PLAN.warm.minRatio && clean(mirrorRun) && clean(reference) && upstreamDuringLoad === 0,
  };
}

// ------------------------------------------------------------------ 2. cold misses

async function coldMisses(upstream: FakeUpstream, fx: Fixtures, mirror: ServeProcess) {
  const packages = [...new Set([...fx.coldUntimed, ...fx.cold].map((r) => r.name))];
  log(`cold: registry of ${packages.length} packages fetched through the mirror first (not timed)`);
  for (const name of packages) {
    const reply = await httpGet(mirror.url, `/packages/${name}`);
    if (reply.status !== 200) fail(`cold: /packages/${name} through the mirror answered ${reply.status}`);
  }
  const proxy = await startPassthrough(upstream.url);
  const once = async (r: FixtureRelease) => {
    const direct = await fetchDigest(upstream.url, tarballPath(r));
    const viaProxy = await fetchDigest(proxy.url, tarballPath(r));
    const viaMirror = await fetchDigest(mirror.url, tarballPath(r));
    for (const [what, got] of [
      ['direct', direct],
      ['pass-through', viaProxy],
      ['mirror', viaMirror],
    ] as const) {
      const problem = checkFetched(`cold ${what} ${tarballPath(r)}`, got, r);
      if (problem) fail(problem);
    }
    if (viaMirror.headers['x-hexhub-cache'] !== 'MISS')
      fail(`cold ${tarballPath(r)}: X-HexHub-Cache ${String(viaMirror.headers['x-hexhub-cache'])}, expected MISS`);
    return { direct, viaProxy, viaMirror };
  };
  for (const r of fx.coldUntimed) await once(r); // JIT and connection warm-up, not timed
  log(`cold: ${fx.cold.length} cold tarballs, each straight from the upstream, through a bare pass-through proxy, and through the mirror`);
  const registryBefore = upstream.countRequests('/packages/');
  const times = { direct: [] as Fetched[], proxy: [] as Fetched[], mirror: [] as Fetched[] };
  for (const r of fx.cold) {
    const t = await once(r);
    times.direct.push(t.direct);
    times.proxy.push(t.viaProxy);
    times.mirror.push(t.viaMirror);
  }
  const registryDuring = upstream.countRequests('/packages/') - registryBefore;
  const perTarball = fx.cold.map((r) => upstream.countRequests(tarballPath(r)));
  if (perTarball.some((n) => n !== 3)) fail(`cold: expected 3 upstream requests per tarball (direct, pass-through, mirror), got ${perTarball.join(',')}`);
  const registryCold = await coldRegistryMisses(upstream, fx, once);
  await proxy.stop();
  const total = (xs: Fetched[]) => summarize(xs.map((x) => x.ms));
  const ttfb = (xs: Fetched[]) => summarize(xs.map((x) => x.ttfbMs));
  const d = total(times.direct);
  const p = total(times.proxy);
  const m = total(times.mirror);
  const limit = PLAN.cold.slack * d.mean + PLAN.cold.slackMs;
  const sizes = fx.cold.map((r) => r.bytes.length);
  return {
    releases: fx.cold.length,
    upstreamLatencyMs: PLAN.cold.latencyMs,
    sizeBytes: { min: Math.min(...sizes), max: Math.max(...sizes), mean: sizes.reduce((a, b) => a + b, 0) / sizes.length },
    registryRequestsWhileTimed: registryDuring,
    direct: d,
    passthrough: p,
    mirror: m,
    /** Time to response headers: where the overhead arises (before the body, or in it). */
    ttfb: { direct: ttfb(times.direct), passthrough: ttfb(times.proxy), mirror: ttfb(times.mirror) },
    overheadMs: { mean: m.mean - d.mean, p50: m.p50 - d.p50, p99: m.p99 - d.p99 },
    overheadPct: (100 * (m.mean - d.mean)) / d.mean,
    passthroughOverheadMs: p.mean - d.mean,
    limitMs: limit,
    pass: m.mean <= limit,
    registryCold,
  };
}

/** Nearest-rank percentile, as summarize() computes p50 and p99. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/**
 * Phase 2, registry cold: tarballs of fresh packages, each the first request ever for its
 * package, so the mirror has no registry record and must get one alongside the tarball
 * (release-artifacts.ts, tarballSpecWithChecksumsArriving). Same interleaving as the warm
 * measurement (direct, pass-through, mirror per release), same mirror, same upstream latency.
 *
 * The fake upstream builds and RSA-signs a /packages/NAME body on every request, after its
 * latency and in this process (which also runs the client and serves the concurrent tarball),
 * so its registry answers come a few ms after its tarball answers; repo.hex.pm serves records
 * signed once, at publish time. Every other package therefore has its record pre-signed (served
 * as a static file by the same upstream, with the same latency): the target is judged on the
 * fake as it is; the pre-signed figures show how much of the overhead is the fake's signing.
 */
async function coldRegistryMisses(
  upstream: FakeUpstream,
  fx: Fixtures,
  once: (r: FixtureRelease) => Promise<{ direct: Fetched; viaProxy: Fetched; viaMirror: Fetched }>,
) {
  for (const r of [...fx.coldRegistryUntimed, ...fx.coldRegistry])
    if (upstream.countRequests(`/packages/${r.name}`) !== 0) fail(`cold, registry cold: /packages/${r.name} was asked for before its tarball`);
  const signedOnRequest = fx.coldRegistry.filter((_, i) => i % 2 === 0);
  const preSigned = fx.coldRegistry.filter((_, i) => i % 2 === 1);
  for (const r of preSigned) upstream.setFile(`/packages/${r.name}`, upstream.repo.packageBody(r.name)!, 'application/octet-stream');
  for (const r of fx.coldRegistryUntimed) await once(r); // this code path's own warm-up, not timed
  log(
    `cold: ${fx.coldRegistry.length} tarballs of fresh packages (registry cold: each is the first request for its package), interleaved the same way; every other record pre-signed`,
  );
  const times = new Map<FixtureRelease, { direct: Fetched; viaProxy: Fetched; viaMirror: Fetched }>();
  for (const r of fx.coldRegistry) times.set(r, await once(r));
  for (const r of preSigned) upstream.deleteFile(`/packages/${r.name}`);
  // The mirror's own upstream requests: one registry record and one tarball per package, and
  // when each arrived (the tarball's third request is the mirror's: direct, pass-through, mirror).
  const gapOf = (r: FixtureRelease): number => {
    const registry = upstream.requests.filter((q) => q.path === `/packages/${r.name}`);
    const tarballs = upstream.requests.filter((q) => q.path === tarballPath(r));
    if (registry.length !== 1) fail(`cold, registry cold: expected 1 upstream request for /packages/${r.name}, got ${registry.length}`);
    if (tarballs.length !== 3)
      fail(`cold, registry cold: expected 3 upstream requests for ${tarballPath(r)} (direct, pass-through, mirror), got ${tarballs.length}`);
    return tarballs[2]!.at - registry[0]!.at;
  };
  const measured = (releases: FixtureRelease[]) => {
    const ms = (pick: 'direct' | 'viaProxy' | 'viaMirror') => releases.map((r) => times.get(r)![pick].ms);
    const d = summarize(ms('direct'));
    const p = summarize(ms('viaProxy'));
    const m = summarize(ms('viaMirror'));
    const p90 = { direct: percentile(ms('direct'), 90), passthrough: percentile(ms('viaProxy'), 90), mirror: percentile(ms('viaMirror'), 90) };
    const paired = ms('viaMirror').map((x, i) => x - ms('direct')[i]!);
    const gaps = releases.map(gapOf);
    return {
      packages: releases.length,
      direct: d,
      passthrough: p,
      mirror: m,
      p90,
      ttfb: {
        direct: summarize(releases.map((r) => times.get(r)!.direct.ttfbMs)),
        passthrough: summarize(releases.map((r) => times.get(r)!.viaProxy.ttfbMs)),
        mirror: summarize(releases.map((r) => times.get(r)!.viaMirror.ttfbMs)),
      },
      overheadMs: { mean: m.mean - d.mean, p50: m.p50 - d.p50, p90: p90.mirror - p90.direct },
      overheadPct: { p50: (100 * (m.p50 - d.p50)) / d.p50, p90: (100 * (p90.mirror - p90.direct)) / p90.direct },
      /** Per release, mirror minus direct (same release, fetched one after the other). */
      pairedOverheadMs: { p50: percentile(paired, 50), p90: percentile(paired, 90) },
      /** When the mirror's tarball request reached the upstream minus when its registry request did (ms, Date.now() resolution): ≈ 0 when asked for together. */
      tarballAfterRegistryMs: { p50: percentile(gaps, 50), min: Math.min(...gaps), max: Math.max(...gaps) },
      limitP50Ms: PLAN.cold.slack * d.p50 + PLAN.cold.slackMs,
      limitP90Ms: PLAN.cold.slack * p90.direct + PLAN.cold.slackMs,
    };
  };
  const main = measured(signedOnRequest);
  const sizes = fx.coldRegistry.map((r) => r.bytes.length);
  return {
    ...main,
    sizeBytes: { min: Math.min(...sizes), max: Math.max(...sizes), mean: sizes.reduce((a, b) => a + b, 0) / sizes.length },
    /** The same measurement, interleaved, with records the upstream serves pre-signed (as repo.hex.pm does): not judged. */
    preSigned: measured(preSigned),
    passP50: main.mirror.p50 <= main.limitP50Ms,
    passP90: main.p90.mirror <= main.limitP90Ms,
    pass: main.mirror.p50 <= main.limitP50Ms && main.p90.mirror <= main.limitP90Ms,
  };
}

// ------------------------------------------------------------------ 3. thundering herd

async function herd(upstream: FakeUpstream, release: FixtureRelease, mirror: ServeProcess, registryWarm: boolean) {
  if (registryWarm) {
    const reply = await httpGet(mirror.url, `/packages/${release.name}`);
    if (reply.status !== 200) fail(`herd: /packages/${release.name} answered ${reply.status}`);
  }
  const path = tarballPath(release);
  const tarballBefore = upstream.countRequests(path);
  const registryBefore = upstream.countRequests(`/packages/${release.name}`);
  const t0 = performance.now();
  const replies = await Promise.all(Array.from({ length: PLAN.herd.clients }, () => fetchDigest(mirror.url, path)));
  const ms = performance.now() - t0;
  const problems = replies.map((got) => checkFetched(path, got, release)).filter((p): p is string => p !== undefined);
  const states: Record<string, number> = {};
  for (const got of replies) {
    const state = String(got.headers['x-hexhub-cache'] ?? 'none');
    states[state] = (states[state] ?? 0) + 1;
  }
  const upstreamTarball = upstream.countRequests(path) - tarballBefore;
  return {
    registry: registryWarm ? 'warm' : 'cold',
    clients: PLAN.herd.clients,
    tarballBytes: release.bytes.length,
    upstreamTarballRequests: upstreamTarball,
    upstreamRegistryRequests: upstream.countRequests(`/packages/${release.name}`) - registryBefore,
    correctResponses: replies.length - problems.length,
    problems: problems.slice(0, 5),
    cacheStates: states,
    wallMs: ms,
    pass: upstreamTarball === 1 && problems.length === 0,
  };
}

// ------------------------------------------------------------------ 4. memory while streaming

async function streaming(upstream: FakeUpstream, fx: Fixtures) {
  const paths = fx.big.map(tarballPath);
  const bytes = fx.big.reduce((a, r) => a + r.bytes.length, 0);
  // Reference: the same transfers straight from the upstream (this process's fake server).
  log(`rss: ${fx.big.length} × ${fmt(PLAN.rss.bytes / MiB, 0)} MiB straight from the upstream (reference throughput)`);
  let t0 = performance.now();
  const direct = await mapLimit(fx.big, PLAN.rss.concurrency, (r) => fetchDigest(upstream.url, tarballPath(r)));
  const directSec = (performance.now() - t0) / 1000;
  direct.forEach((got, i) => {
    const problem = checkFetched(`direct ${paths[i]}`, got, fx.big[i]!);
    if (problem) fail(problem);
  });

  const mirror = await startMirror(upstream, 'rss');
  const pid = mirror.child.pid!;
  const idle = (await memoryOf(pid))!;
  log(`rss: the same ${fmt(bytes / MiB, 0)} MiB, cold, through a fresh mirror (${PLAN.rss.concurrency} at a time), sampling /proc/${pid}/status`);
  const sampler = sampleMemory(pid, 20);
  t0 = performance.now();
  const got = await mapLimit(fx.big, PLAN.rss.concurrency, (r) => fetchDigest(mirror.url, tarballPath(r)));
  const mirrorSec = (performance.now() - t0) / 1000;
  const peak = await sampler.stop();
  got.forEach((g, i) => {
    const problem = checkFetched(`mirror ${paths[i]}`, g, fx.big[i]!);
    if (problem) fail(problem);
    if (g.headers['x-hexhub-cache'] !== 'MISS') fail(`rss ${paths[i]}: X-HexHub-Cache ${String(g.headers['x-hexhub-cache'])}, expected MISS`);
  });
  await mirror.stop();
  const peakBytes = Math.max(peak.hwm, peak.peakRss);
  return {
    tarballs: fx.big.length,
    tarballBytes: PLAN.rss.bytes,
    distinctTarballs: PLAN.rss.distinct,
    totalBytes: bytes,
    concurrency: PLAN.rss.concurrency,
    idleRssBytes: idle.rss,
    peakRssBytes: peakBytes,
    sampledPeakRssBytes: peak.peakRss,
    vmHwmBytes: peak.hwm,
    samples: peak.samples,
    mirrorMBps: bytes / MiB / mirrorSec,
    directMBps: bytes / MiB / directSec,
    mirrorSec,
    directSec,
    limitBytes: PLAN.rss.limit,
    pass: peakBytes < PLAN.rss.limit,
  };
}

// ------------------------------------------------------------------ report

const PF = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
const mib = (b: number) => `${fmt(b / MiB)} MiB`;
const kib = (b: number) => `${fmt(b / 1024)} KiB`;

/** Whatever phases ran (BENCH_ONLY can pick some). */
type Results = {
  warm?: Awaited<ReturnType<typeof warmServing>>;
  cold?: Awaited<ReturnType<typeof coldMisses>>;
  herd?: Awaited<ReturnType<typeof herd>>[];
  rss?: Awaited<ReturnType<typeof streaming>>;
  prewarm?: PrewarmFigures;
  catalog?: CatalogFigures;
  load?: LoadPhaseFigures;
  s3?: S3PhaseResult;
  rebar3?: Rebar3PhaseResult;
  large?: LargeFigures;
  index?: IndexScaleFigures;
};

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function targets(r: Results) {
  return [
    ...(r.warm ? [{ id: '1', name: 'warm req/s, HexHub / nginx (1 worker)', value: r.warm.ratio, target: `>= ${PLAN.warm.minRatio}`, pass: r.warm.pass }] : []),
    ...(r.cold
      ? [
          {
            id: '2',
            name: 'cold-miss mean through HexHub (ms)',
            value: r.cold.mirror.mean,
            target: `<= 1.10 x ${fmt(r.cold.direct.mean, 2)} + 5 = ${fmt(r.cold.limitMs, 2)}`,
            pass: r.cold.pass,
          },
          {
            id: '2b',
            name: 'cold-miss p50 through HexHub, registry cold (ms)',
            value: r.cold.registryCold.mirror.p50,
            target: `<= ${PLAN.cold.slack} x ${fmt(r.cold.registryCold.direct.p50, 2)} + ${PLAN.cold.slackMs} = ${fmt(r.cold.registryCold.limitP50Ms, 2)}`,
            pass: r.cold.registryCold.passP50,
          },
          {
            id: '2b',
            name: 'cold-miss p90 through HexHub, registry cold (ms)',
            value: r.cold.registryCold.p90.mirror,
            target: `<= ${PLAN.cold.slack} x ${fmt(r.cold.registryCold.p90.direct, 2)} + ${PLAN.cold.slackMs} = ${fmt(r.cold.registryCold.limitP90Ms, 2)}`,
            pass: r.cold.registryCold.passP90,
          },
        ]
      : []),
    ...(r.herd ?? []).map((h) => ({
      id: '3',
      name: `upstream requests, ${h.clients} concurrent GETs of one cold tarball (registry ${h.registry})`,
      value: h.upstreamTarballRequests,
      target: `== 1, ${h.clients}/${h.clients} correct`,
      pass: h.pass,
    })),
    ...(r.rss
      ? [{ id: '4', name: `peak RSS streaming ${mib(r.rss.totalBytes)} (bytes)`, value: r.rss.peakRssBytes, target: `< ${r.rss.limitBytes}`, pass: r.rss.pass }]
      : []),
    ...(r.prewarm
      ? [
          {
            id: '5',
            name: `pre-warm of a ${r.prewarm.packages}-package lock, time / ideal`,
            value: r.prewarm.ratioToIdeal,
            target: `<= ${r.prewarm.target}`,
            pass: r.prewarm.pass,
          },
        ]
      : []),
    ...(r.catalog
      ? [
          {
            id: '6',
            name: `cache listing p50 (ms), ${r.catalog.packages} packages / ${r.catalog.releases} releases`,
            value: r.catalog.p50Ms,
            target: `< ${r.catalog.target}`,
            pass: r.catalog.pass,
          },
        ]
      : []),
    ...(r.load
      ? [
          {
            id: '7',
            name: `load, flapping upstream: wrong bytes in ${r.load.requests} responses`,
            value: r.load.wrongBytes,
            target: '== 0',
            pass: r.load.wrongBytes === 0,
          },
          {
            id: '7',
            name: 'load, flapping upstream: warm (cached) requests without a correct 200/304',
            value: r.load.warmFailures,
            target: '== 0',
            pass: r.load.warmFailures === 0,
          },
          {
            id: '7',
            name: `load, flapping upstream: HexHub RSS growth over the last ${fmt(r.load.memory.windowSec, 0)} s (MiB, least-squares fit)`,
            value: r.load.memory.fittedGrowthMiB,
            target: `< ${r.load.memory.limitGrowthMiB}${r.load.memory.judged ? '' : ' (not judged: run < 60 s)'}`,
            pass: !r.load.memory.judged || r.load.memory.fittedGrowthMiB < r.load.memory.limitGrowthMiB,
          },
          {
            id: '7',
            name: 'load, flapping upstream: whole phase (also: flapping happened, cold objects fetched, cache verifies after)',
            value: r.load.failures.length,
            target: '0 failures',
            pass: r.load.pass,
          },
        ]
      : []),
    ...(r.s3 ? s3Targets(r.s3) : []),
    ...(r.rebar3 ? rebar3Targets(r.rebar3) : []),
    ...(r.large ? largeTargets(r.large) : []),
    ...(r.index
      ? [
          {
            id: '11a',
            name: 'start-up to listening, 200,000-release index (ms)',
            value: r.index.startup.medianMs,
            target: `<= ${r.index.startup.targetMs}`,
            pass: r.index.startup.pass,
          },
          {
            id: '11b',
            name: 'idle RSS, 200,000-release index (MiB)',
            value: r.index.idle.rssBytes / MiB,
            target: `<= ${r.index.idle.targetBytes / MiB}`,
            pass: r.index.idle.pass,
          },
          {
            id: '11c',
            name: 'bytes written to the index per 100 cold misses',
            value: r.index.coldMisses.amortisedPer100,
            target: `<= ${r.index.coldMisses.targetBytes}`,
            pass: r.index.coldMisses.pass,
          },
        ]
      : []),
  ];
}

function markdown(r: Results, meta: Meta): string {
  const ms = (s: Summary, k: keyof Summary) => `${fmt(s[k] as number)} ms`;
  const loadCell = (x: LoadResult) => `${fmt(x.reqPerSec, 0)} req/s, p99 ${fmt(x.latencyMs.p99, 1)} ms`;
  const rows = [['#', 'measure', 'HexHub', 'reference (same run)', 'target', 'result']];
  const { warm, cold, rss } = r;
  if (warm) {
    rows.push(
      [
        '1',
        `warm tarballs: ${warm.connections} connections, ${warm.durationSec} s, ${warm.tarballs} tarballs (median ${kib(warm.sizeBytes.p50)}, max ${mib(warm.sizeBytes.max)})`,
        loadCell(warm.mirror),
        `nginx, 1 worker: ${loadCell(warm.nginx1)}; nginx, auto (${cpus().length}): ${loadCell(warm.nginxAuto)}; bare Node, files in memory: ${loadCell(warm.bareNode)} (${fmt(warm.bareRatio, 2)} × nginx)`,
        `≥ ${PLAN.warm.minRatio} × nginx (1 worker) req/s; got ${fmt(warm.ratio, 2)} ×`,
        PF(warm.pass),
      ],
      [
        '1b',
        'warm: non-2xx / errors / timeouts',
        `${warm.mirror.non2xx} / ${warm.mirror.errors} / ${warm.mirror.timeouts} of ${warm.mirror.requests}`,
        `nginx 1: ${warm.nginx1.non2xx} / ${warm.nginx1.errors} / ${warm.nginx1.timeouts} of ${warm.nginx1.requests}; auto: ${warm.nginxAuto.non2xx} / ${warm.nginxAuto.errors} / ${warm.nginxAuto.timeouts} of ${warm.nginxAuto.requests}`,
        'all 0',
        PF(warm.allResponsesOk),
      ],
    );
  }
  if (cold) {
    rows.push([
      '2',
      `cold miss: ${cold.releases} sequential tarballs (${kib(cold.sizeBytes.min)}–${kib(cold.sizeBytes.max)}), upstream +${cold.upstreamLatencyMs} ms, registry warm`,
      `mean ${ms(cold.mirror, 'mean')}, p50 ${ms(cold.mirror, 'p50')}, p99 ${ms(cold.mirror, 'p99')}`,
      `straight from upstream: mean ${ms(cold.direct, 'mean')}, p50 ${ms(cold.direct, 'p50')}, p99 ${ms(cold.direct, 'p99')}; bare Node pass-through proxy: mean ${ms(cold.passthrough, 'mean')}`,
      `mean ≤ 1.10 × direct + 5 ms = ${fmt(cold.limitMs)} ms (overhead ${fmt(cold.overheadMs.mean)} ms, ${fmt(cold.overheadPct)} %)`,
      PF(cold.pass),
    ]);
    const rc = cold.registryCold;
    rows.push([
      '2b',
      `cold miss, registry cold: ${rc.packages} fresh packages, one tarball each (${kib(rc.sizeBytes.min)}–${kib(rc.sizeBytes.max)}), first request for its package, upstream +${cold.upstreamLatencyMs} ms, records signed on request`,
      `p50 ${fmt(rc.mirror.p50)} ms, p90 ${fmt(rc.p90.mirror)} ms, mean ${fmt(rc.mirror.mean)} ms`,
      `straight from upstream: p50 ${fmt(rc.direct.p50)} ms, p90 ${fmt(rc.p90.direct)} ms; bare Node pass-through proxy: p50 ${fmt(rc.passthrough.p50)} ms, p90 ${fmt(rc.p90.passthrough)} ms; records pre-signed by the upstream (not judged): HexHub p50 ${fmt(rc.preSigned.mirror.p50)} ms, p90 ${fmt(rc.preSigned.p90.mirror)} ms vs direct ${fmt(rc.preSigned.direct.p50)} / ${fmt(rc.preSigned.p90.direct)} ms`,
      `p50 and p90 ≤ 1.10 × direct + 5 ms = ${fmt(rc.limitP50Ms)} / ${fmt(rc.limitP90Ms)} ms (overhead p50 ${fmt(rc.overheadMs.p50)} ms, p90 ${fmt(rc.overheadMs.p90)} ms)`,
      PF(rc.pass),
    ]);
  }
  for (const h of r.herd ?? []) {
    rows.push([
      '3',
      `${h.clients} concurrent GETs of one uncached ${mib(h.tarballBytes)} tarball, registry ${h.registry}`,
      `${h.upstreamTarballRequests} upstream tarball request(s); ${h.correctResponses}/${h.clients} correct bodies`,
      `expected: 1 request (registry fetched ${h.upstreamRegistryRequests}×)`,
      'exactly 1; all bytes correct',
      PF(h.pass),
    ]);
  }
  if (rss) {
    rows.push([
      '4',
      `peak RSS streaming ${mib(rss.totalBytes)} cold (${rss.tarballs} × ${mib(rss.tarballBytes)}, ${rss.concurrency} at a time)`,
      `${mib(rss.peakRssBytes)} peak (VmHWM); ${fmt(rss.mirrorMBps, 0)} MiB/s`,
      `idle HexHub ${mib(rss.idleRssBytes)}; straight from upstream ${fmt(rss.directMBps, 0)} MiB/s`,
      `< ${mib(rss.limitBytes)}`,
      PF(rss.pass),
    ]);
  }
  const { prewarm, catalog } = r;
  if (prewarm) {
    rows.push([
      '5',
      `pre-warm of a ${prewarm.packages}-package mix.lock, upstream +${prewarm.latencyMs} ms, concurrency ${prewarm.concurrency} (${prewarm.upstreamRequests} upstream requests)`,
      `${fmt(prewarm.concurrentMs / 1000, 2)} s`,
      `same set one at a time: ${fmt(prewarm.sequentialMs / 1000, 2)} s; ideal (requests × latency ÷ concurrency + bytes ÷ bandwidth): ${fmt(prewarm.idealMs / 1000, 2)} s`,
      `≤ ${prewarm.target} × ideal; got ${fmt(prewarm.ratioToIdeal, 2)} ×`,
      PF(prewarm.pass),
    ]);
  }
  if (catalog) {
    rows.push([
      '6',
      `GET /-/api/cache pages over ${catalog.packages} packages / ${catalog.releases} releases (search, sorts, deep pages; ${catalog.requests} requests)`,
      `p50 ${fmt(catalog.p50Ms, 1)} ms, p95 ${fmt(catalog.p95Ms, 1)} ms, max ${fmt(catalog.maxMs, 1)} ms`,
      `slowest query p50: ${[...catalog.byQuery].sort((a, b) => b.p50Ms - a.p50Ms)[0]!.query} ${fmt([...catalog.byQuery].sort((a, b) => b.p50Ms - a.p50Ms)[0]!.p50Ms, 1)} ms`,
      `p50 < ${catalog.target} ms`,
      PF(catalog.pass),
    ]);
  }
  if (r.load) rows.push(loadMarkdownRow(r.load));
  if (r.s3) rows.push(...s3MarkdownRows(r.s3));
  if (r.rebar3) rows.push(rebar3MarkdownRow(r.rebar3));
  if (r.large) rows.push(...largeMarkdownRows(r.large));
  if (r.index) rows.push(...indexScaleMarkdownRows(r.index));
  const noise = Object.entries(meta.noisePct ?? {})
    .map(([phase, pct]) => `${phase} ${fmt(pct, 0)} %`)
    .join(', ');
  const caption =
    `Measured ${meta.date.slice(0, 16).replace('T', ' ')} UTC on ${meta.cpus} × ${meta.cpuModel}, ${fmt(meta.memBytes / 1024 ** 3, 0)} GiB, Node ${meta.node}, ${meta.nginx}; ` +
    `code ${meta.commit ?? 'unknown'}${meta.dirty ? ' + uncommitted changes' : ''}${meta.quick ? ' (QUICK mode)' : ''}. ` +
    `CPU used by other processes meanwhile (% of one core): ${noise || 'n/a'}.`;
  return `${caption}\n\n${table(rows)}`;
}

function noiseNote(meta: Meta, phase: string): string {
  const pct = meta.noisePct?.[phase];
  return pct === undefined ? '' : `   (other processes used ${fmt(pct, 0)} % of one core meanwhile${pct > 20 ? ': noisy' : ''})`;
}

function report(r: Results, meta: Meta): string {
  const { warm, cold, rss } = r;
  const out: string[] = [];
  const load = (label: string, x: ServerRun) =>
    `  ${label.padEnd(22)} ${fmt(x.reqPerSec, 0).padStart(7)} req/s  ${fmt(x.bytesPerSec / MiB, 0).padStart(5)} MiB/s  latency mean ${fmt(x.latencyMs.mean)} p50 ${fmt(x.latencyMs.p50)} p99 ${fmt(x.latencyMs.p99)} max ${fmt(x.latencyMs.max)} ms  (rounds: ${x.rounds.map((r) => fmt(r, 0)).join(', ')} req/s)\n` +
    `  ${''.padEnd(22)} 2xx ${x.ok2xx}/${x.requests}, non-2xx ${x.non2xx}, errors ${x.errors}, timeouts ${x.timeouts};  CPU (% of one core): server ${fmt(x.serverCpuPct, 0)}, load generator ${fmt(x.clientCpuPct, 0)}, other processes ${fmt(x.otherCpuPct, 0)}`;
  out.push('', '==================== HexHub benchmark ====================');
  out.push(
    `machine: ${meta.cpus} × ${meta.cpuModel}, ${fmt(meta.memBytes / 1024 ** 3, 0)} GiB RAM, Linux ${meta.kernel}; Node ${meta.node}, ${meta.nginx}, autocannon ${meta.autocannon}`,
  );
  out.push(
    `code: ${meta.commit ?? 'unknown commit'}${meta.dirty ? ' + uncommitted changes under src-main/' : ''}; ${meta.date}${meta.quick ? '; QUICK mode (short runs, not for BENCHMARKS.md)' : ''}`,
  );
  out.push(`note: the load generator (autocannon) and the fake upstream run in this bench process, on the same ${meta.cpus} cores as the`);
  out.push('      server under test, so every server competes with its client for CPU; all traffic is loopback.');
  out.push(
    `other processes on the machine: ${fmt(meta.busyBeforePct, 0)} % of one core just before the start${meta.busyBeforePct > 20 ? '  -- WARNING: the machine is busy, expect noisy figures' : ''}; per phase below`,
  );
  if (warm) {
    out.push('');
    out.push(`1. Warm tarball serving  [${PF(warm.pass)}]${noiseNote(meta, 'warm')}`);
    out.push(
      `  ${warm.tarballs} tarballs, ${mib(warm.bytesTotal)} total; sizes min ${kib(warm.sizeBytes.min)}, median ${kib(warm.sizeBytes.p50)}, p90 ${kib(warm.sizeBytes.p90)}, max ${kib(warm.sizeBytes.max)}, mean ${kib(warm.sizeBytes.mean)}`,
    );
    out.push(
      `  ${warm.connections} keep-alive connections; each target ${warm.durationSec} s in total, as ${warm.rounds} interleaved rounds of ${fmt(warm.durationSec / warm.rounds, 1)} s, after a discarded ${PLAN.warm.warmupSec} s warm-up;`,
    );
    out.push('  each connection cycles through all paths from its own offset; latency percentiles over every response');
    out.push(load('HexHub', warm.mirror));
    out.push(load('nginx worker_proc 1', warm.nginx1));
    out.push(load('nginx worker_proc auto', warm.nginxAuto));
    out.push(load('bare Node, in memory', warm.bareNode));
    out.push("  (the target is against worker_processes 1: one nginx worker is one event loop, like HexHub's one Node process; auto is shown too)");
    out.push(
      `  HexHub / nginx(1) = ${fmt(warm.ratio, 2)}  (target ≥ ${PLAN.warm.minRatio});  per round: ${warm.ratioPerRound.map((x) => fmt(x, 2)).join(', ')} (median ${fmt(warm.ratioMedianOfRounds, 2)});  HexHub / nginx(auto) = ${fmt(warm.ratioVsAuto, 2)};  bare Node / nginx(1) = ${fmt(warm.bareRatio, 2)}`,
    );
    out.push(
      `  HexHub peak RSS under this load ${mib(warm.mirror.peakRssBytes)}; upstream requests during the load: ${warm.mirror.upstreamRequestsDuringLoad}`,
    );
  }
  if (cold) {
    out.push('');
    out.push(`2. Cold-miss overhead  [${PF(cold.pass)}]${noiseNote(meta, 'cold')}`);
    out.push(
      `  ${cold.releases} different releases (${kib(cold.sizeBytes.min)}–${kib(cold.sizeBytes.max)}, mean ${kib(cold.sizeBytes.mean)}), one at a time, a new connection each; upstream adds ${cold.upstreamLatencyMs} ms before headers`,
    );
    out.push(
      `  the registry (/packages/NAME) was fetched through HexHub beforehand, so only the tarball is a miss (${cold.registryRequestsWhileTimed} registry requests while timed)`,
    );
    const row = (label: string, s: Summary, t: Summary) =>
      `  ${label.padEnd(30)} mean ${fmt(s.mean, 2)}  p50 ${fmt(s.p50, 2)}  p99 ${fmt(s.p99, 2)}  min ${fmt(s.min, 2)}  max ${fmt(s.max, 2)} ms;  to headers: mean ${fmt(t.mean, 2)} ms`;
    out.push(row('straight from upstream', cold.direct, cold.ttfb.direct));
    out.push(row('bare pass-through proxy', cold.passthrough, cold.ttfb.passthrough));
    out.push(row('through HexHub (MISS)', cold.mirror, cold.ttfb.mirror));
    out.push(
      `  HexHub overhead: mean ${fmt(cold.overheadMs.mean, 2)} ms (${fmt(cold.overheadPct)} %), p50 ${fmt(cold.overheadMs.p50, 2)} ms, p99 ${fmt(cold.overheadMs.p99, 2)} ms;  limit: HexHub mean ≤ 1.10 × ${fmt(cold.direct.mean, 2)} + 5 = ${fmt(cold.limitMs, 2)} ms`,
    );
    out.push(
      `  for scale: one more process hop (bare pass-through proxy, bench/passthrough.mjs) costs ${fmt(cold.passthroughOverheadMs, 2)} ms here; HexHub adds ${fmt(cold.mirror.mean - cold.passthrough.mean, 2)} ms on top of that`,
    );
    const rc = cold.registryCold;
    out.push('');
    out.push(`2b. Cold-miss overhead, registry cold  [${PF(rc.pass)}]`);
    out.push(
      `  ${rc.packages} fresh packages, one release each (${kib(rc.sizeBytes.min)}–${kib(rc.sizeBytes.max)}, mean ${kib(rc.sizeBytes.mean)}): each timed request is the first one for its package, so HexHub has no registry record and fetches it alongside the tarball;`,
    );
    out.push(`  records as the fake upstream serves them (built and signed on each request): judged`);
    const rowP90 = (label: string, s: Summary, p90: number, t: Summary) =>
      `  ${label.padEnd(30)} mean ${fmt(s.mean, 2)}  p50 ${fmt(s.p50, 2)}  p90 ${fmt(p90, 2)}  p99 ${fmt(s.p99, 2)}  max ${fmt(s.max, 2)} ms;  to headers: mean ${fmt(t.mean, 2)} ms`;
    out.push(rowP90('straight from upstream', rc.direct, rc.p90.direct, rc.ttfb.direct));
    out.push(rowP90('bare pass-through proxy', rc.passthrough, rc.p90.passthrough, rc.ttfb.passthrough));
    out.push(rowP90('through HexHub (MISS)', rc.mirror, rc.p90.mirror, rc.ttfb.mirror));
    out.push(
      `  HexHub overhead: p50 ${fmt(rc.overheadMs.p50, 2)} ms (${fmt(rc.overheadPct.p50)} %), p90 ${fmt(rc.overheadMs.p90, 2)} ms (${fmt(rc.overheadPct.p90)} %), mean ${fmt(rc.overheadMs.mean, 2)} ms; per release (paired): p50 ${fmt(rc.pairedOverheadMs.p50, 2)} ms, p90 ${fmt(rc.pairedOverheadMs.p90, 2)} ms`,
    );
    out.push(
      `  limits: p50 ≤ ${PLAN.cold.slack} × ${fmt(rc.direct.p50, 2)} + ${PLAN.cold.slackMs} = ${fmt(rc.limitP50Ms, 2)} ms [${PF(rc.passP50)}];  p90 ≤ ${PLAN.cold.slack} × ${fmt(rc.p90.direct, 2)} + ${PLAN.cold.slackMs} = ${fmt(rc.limitP90Ms, 2)} ms [${PF(rc.passP90)}]`,
    );
    out.push(
      `  HexHub's tarball request reached the upstream ${fmt(rc.tarballAfterRegistryMs.p50, 0)} ms after its registry request (median; min ${rc.tarballAfterRegistryMs.min}, max ${rc.tarballAfterRegistryMs.max}): ≈ 0 means both were asked for together`,
    );
    const ps = rc.preSigned;
    out.push(
      `  records pre-signed (${ps.packages} more fresh packages, interleaved; the fake upstream otherwise signs each record on request, after its latency, in this process; repo.hex.pm serves them signed once): not judged`,
    );
    out.push(rowP90('straight from upstream', ps.direct, ps.p90.direct, ps.ttfb.direct));
    out.push(rowP90('through HexHub (MISS)', ps.mirror, ps.p90.mirror, ps.ttfb.mirror));
    out.push(
      `  HexHub overhead, records pre-signed: p50 ${fmt(ps.overheadMs.p50, 2)} ms (${fmt(ps.overheadPct.p50)} %), p90 ${fmt(ps.overheadMs.p90, 2)} ms (${fmt(ps.overheadPct.p90)} %); would meet p50 ≤ ${fmt(ps.limitP50Ms, 2)}: ${ps.mirror.p50 <= ps.limitP50Ms ? 'yes' : 'no'}, p90 ≤ ${fmt(ps.limitP90Ms, 2)}: ${ps.p90.mirror <= ps.limitP90Ms ? 'yes' : 'no'}`,
    );
  }
  if (r.herd) {
    out.push('');
    out.push(`3. Concurrent requests for one uncached tarball  [${PF(r.herd.every((h) => h.pass))}]${noiseNote(meta, 'herd')}`);
    for (const h of r.herd) {
      out.push(
        `  registry ${h.registry.padEnd(4)}: ${h.clients} concurrent GETs (upstream +${PLAN.herd.latencyMs} ms) -> ${h.upstreamTarballRequests} upstream tarball request(s), ${h.upstreamRegistryRequests} registry request(s); ` +
          `${h.correctResponses}/${h.clients} complete and correct; X-HexHub-Cache ${JSON.stringify(h.cacheStates)}; ${fmt(h.wallMs, 0)} ms  [${PF(h.pass)}]`,
      );
      for (const p of h.problems) out.push(`    ${p}`);
    }
  }
  if (rss) {
    out.push('');
    out.push(`4. Memory while streaming  [${PF(rss.pass)}]${noiseNote(meta, 'rss')}`);
    out.push(
      `  ${rss.tarballs} cold releases × ${mib(rss.tarballBytes)} = ${mib(rss.totalBytes)} (${rss.distinctTarballs} distinct real tarballs shared across versions), ${rss.concurrency} at a time, through a fresh HexHub`,
    );
    out.push(
      `  HexHub RSS: idle ${mib(rss.idleRssBytes)}, peak ${mib(rss.peakRssBytes)} (VmHWM ${mib(rss.vmHwmBytes)}, max sampled VmRSS ${mib(rss.sampledPeakRssBytes)}, ${rss.samples} samples); limit ${mib(rss.limitBytes)}`,
    );
    out.push(
      `  throughput: HexHub ${fmt(rss.mirrorMBps, 0)} MiB/s (${fmt(rss.mirrorSec)} s) vs straight from upstream ${fmt(rss.directMBps, 0)} MiB/s (${fmt(rss.directSec)} s)`,
    );
  }
  if (r.prewarm) {
    const p = r.prewarm;
    out.push('', `5. Pre-warm  [${PF(p.pass)}]${noiseNote(meta, 'prewarm')}`);
    out.push(
      `  ${p.packages}-package mix.lock, upstream +${p.latencyMs} ms: concurrency ${p.concurrency} ${fmt(p.concurrentMs / 1000, 2)} s, one at a time ${fmt(p.sequentialMs / 1000, 2)} s, ideal ${fmt(p.idealMs / 1000, 2)} s (${p.upstreamRequests} requests, ${mib(p.bytes)} at ${mib(p.bandwidthBytesPerSec)}/s) -> ${fmt(p.ratioToIdeal, 2)} × ideal`,
    );
  }
  if (r.catalog) {
    const c = r.catalog;
    out.push('', `6. Cache listing  [${PF(c.pass)}]${noiseNote(meta, 'catalog')}`);
    out.push(
      `  ${c.packages} packages / ${c.releases} releases: p50 ${fmt(c.p50Ms, 1)} ms, p95 ${fmt(c.p95Ms, 1)} ms, max ${fmt(c.maxMs, 1)} ms over ${c.requests} requests`,
    );
    for (const q of c.byQuery) out.push(`    ${q.query.padEnd(50)} p50 ${fmt(q.p50Ms, 1)} ms`);
  }
  if (r.load) out.push(...loadReport(r.load, noiseNote(meta, 'load')));
  if (r.s3) out.push(...s3Report(r.s3, noiseNote(meta, 's3'), PLAN.warm.warmupSec));
  if (r.rebar3) out.push(...rebar3Report(r.rebar3, noiseNote(meta, 'rebar3')));
  if (r.large) out.push(...largeReport(r.large, noiseNote(meta, 'large')));
  if (r.index) out.push(...indexScaleReport(r.index, noiseNote(meta, 'index')));
  const all = targets(r);
  if (CPU_PROF)
    out.push('', `CPU profiles of each HexHub process (warm, cold, rss, s3-*): ${PROFILES}  (summarise: node --import tsx bench/profile-top.ts FILE)`);
  out.push('');
  out.push(`targets: ${all.filter((t) => t.pass).length}/${all.length} met`);
  for (const t of all)
    out.push(
      `  ${PF(t.pass)}  ${t.id}. ${t.name}: ${typeof t.value === 'number' && !Number.isInteger(t.value) ? fmt(t.value, 2) : t.value} (target ${t.target})`,
    );
  out.push('');
  out.push('Markdown (for BENCHMARKS.md):');
  out.push('');
  out.push(markdown(r, meta));
  out.push('');
  return out.join('\n');
}

// ------------------------------------------------------------------ main

interface Meta {
  date: string;
  cpus: number;
  cpuModel: string;
  memBytes: number;
  kernel: string;
  node: string;
  nginx: string;
  autocannon: string;
  commit: string | undefined;
  dirty: boolean;
  quick: boolean;
  phases: string[];
  /** CPU used by other processes in the second before the bench started (% of one core). */
  busyBeforePct: number;
  /** CPU used by other processes during each phase (% of one core). */
  noisePct?: Record<string, number>;
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], cwd: fileURLToPath(new URL('..', import.meta.url)) }).trim();
  } catch {
    return undefined;
  }
}

const PHASES = ['warm', 'cold', 'herd', 'rss', 'prewarm', 'catalog', 'load', 's3', 'rebar3', 'large', 'index'] as const;

async function main(): Promise<void> {
  const started = Date.now();
  const only = (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of only) if (!(PHASES as readonly string[]).includes(p)) fail(`BENCH_ONLY: unknown phase "${p}" (${PHASES.join(', ')})`);
  const runs = (phase: (typeof PHASES)[number]) => only.length === 0 || only.includes(phase);
  const idle = await noiseMeter();
  await new Promise((r) => setTimeout(r, 1000));
  const busyBeforePct = await idle.stop();
  const meta: Meta = {
    busyBeforePct,
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memBytes: totalmem(),
    kernel: osRelease(),
    node: process.version,
    nginx: await nginxVersion(),
    autocannon: (JSON.parse(await readFile(fileURLToPath(new URL('../node_modules/autocannon/package.json', import.meta.url)), 'utf8')) as { version: string })
      .version,
    // BENCH_COMMIT names the code when it is not a git checkout (e.g. a `git archive` export).
    commit: process.env.BENCH_COMMIT ?? git(['rev-parse', '--short', 'HEAD']),
    dirty: process.env.BENCH_COMMIT ? false : (git(['status', '--porcelain', '--', 'src-main']) ?? '') !== '',
    quick: QUICK,
    phases: PHASES.filter(runs),
  };

  log('building fixtures (real Hex tarballs of controlled size)…');
  const repo = new FixtureRepo();
  const fx = await buildFixtures(repo);
  const upstream = await startFakeUpstream(repo);
  cleanups.push(() => upstream.close());

  const results: Results = {};
  const noise: Record<string, number> = {};
  const phase = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    const meter = await noiseMeter();
    const result = await body();
    noise[name] = await meter.stop();
    return result;
  };
  if (runs('warm')) results.warm = await phase('warm', () => warmServing(upstream, fx));

  if (runs('cold') || runs('herd')) {
    const coldMirror = await startMirror(upstream, 'cold');
    upstream.fault.latencyMs(PLAN.cold.latencyMs);
    if (runs('cold')) results.cold = await phase('cold', () => coldMisses(upstream, fx, coldMirror));
    if (runs('herd')) {
      log(`herd: ${PLAN.herd.clients} concurrent requests for one uncached tarball, registry warm then cold`);
      results.herd = await phase('herd', async () => [
        await herd(upstream, fx.herdWarm, coldMirror, true),
        await herd(upstream, fx.herdCold, coldMirror, false),
      ]);
    }
    upstream.fault.clear();
    await coldMirror.stop();
  }

  if (runs('rss')) results.rss = await phase('rss', () => streaming(upstream, fx));
  if (runs('prewarm')) results.prewarm = await phase('prewarm', () => benchPrewarm({ packages: QUICK ? 40 : 150 }));
  if (runs('catalog')) results.catalog = await phase('catalog', () => benchCatalog({ packages: QUICK ? 2000 : 20_000 }));
  if (runs('load')) {
    results.load = await phase('load', () => benchReliabilityLoad({ upstream, repo, log, startMirror: (label, env) => startMirror(upstream, label, env) }));
    upstream.fault.clear();
  }
  if (runs('s3')) {
    results.s3 = await phase('s3', () =>
      benchS3({
        upstream,
        warm: fx.warm,
        cold: fx.cold,
        coldUntimed: fx.coldUntimed,
        warmPlan: PLAN.warm,
        coldLatencyMs: PLAN.cold.latencyMs,
        log,
        startMirror: (label, env) => startMirror(upstream, label, env),
        measureInterleaved,
        checkFetched,
        onCleanup: (c) => cleanups.push(c),
      }),
    );
  }
  if (runs('rebar3')) results.rebar3 = await phase('rebar3', () => benchRebar3({ log, startMirror: (up, label) => startMirror(up, label) }));
  if (runs('large')) {
    results.large = await phase('large', () =>
      benchLargeWorkingSet({
        upstream,
        repo,
        log,
        startMirror: (label, env) => startMirror(upstream, label, env),
        measureInterleaved,
        checkFetched,
        onCleanup: (c) => cleanups.push(c),
      }),
    );
  }
  if (runs('index')) results.index = await phase('index', () => benchIndexScale(QUICK ? { packages: 2000 } : {}));
  meta.noisePct = noise;

  process.stdout.write(report(results, meta));
  await mkdir(RESULTS, { recursive: true });
  const json = {
    meta: {
      ...meta,
      elapsedSec: (Date.now() - started) / 1000,
      plan: { ...PLAN, load: LOAD_PLAN, s3: S3_PLAN, rebar3: REBAR3_PLAN, large: LARGE_PLAN, index: INDEX_SCALE_PLAN },
    },
    targets: targets(results),
    results,
    markdown: markdown(results, meta),
  };
  await writeFile(join(RESULTS, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  log(`wrote bench/results/latest.json (whole run ${fmt((Date.now() - started) / 1000, 0)} s)`);
}

process.on('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});

main()
  .then(cleanup)
  .catch(async (error: Error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
    await cleanup();
    process.exitCode = 1;
  });
