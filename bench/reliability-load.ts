// Phase 7 of `npm run bench` (BENCH_ONLY=load): HexHub under a real load generator while
// the upstream flaps. The requirement: "a load test with a real load generator of mixed
// warm and cold requests at 64 connections for 60 s with a flapping upstream: zero wrong
// bytes, zero 5xx for objects that are cached, memory flat".
//
//   - The mirror is the real built `./bin/hexhub serve` process (started by run.ts), with a
//     registry TTL of a few seconds (HEXHUB_REGISTRY_TTL), so that cached registry records go
//     stale and are revalidated against the flapping upstream many times during the run:
//     with the default TTL (300 s) no cached object would ever touch the upstream in 60 s.
//   - The upstream is the fake hex.pm of the tests, in this process, with `fault.flap()` on
//     for the whole run: every other upstream request (any path) is a 503. HexHub retries
//     5xx (UPSTREAM_RETRY_DELAY 20 ms, 3 retries), so most cold fetches still succeed; a cold
//     request may still end in a 5xx when all its attempts land on the failing half. That is
//     allowed only for objects that are not cached, and counted separately.
//   - autocannon (programmatic API, 64 keep-alive connections) chooses each request in
//     `setupRequest`: ~70 % warm tarballs (fetched and verified before the load), ~15 %
//     registry records /packages/NAME (cached before the load), ~15 % cold tarballs.
//   - Cold supply. A 60-s run makes tens of thousands of cold requests; building that many
//     fixture releases would take minutes and gigabytes. Instead there is a pool of a few
//     hundred cold releases, and every cold request takes one that is *known* not to be
//     cached: a release leaves the pool when a request for it is sent, and once the answer
//     is in, a background loop deletes it from HexHub's cache through the control API
//     (DELETE /-/api/cache/NAME/VERSION, with the token from the data dir) and puts it back.
//     So every cold request is a true miss (X-HexHub-Cache: MISS, one upstream tarball
//     fetch), never a request coalesced with another one; the pool running dry (the deletes
//     falling behind) is counted, and such a request is sent as a warm one instead.
//   - Every 200 body is checked byte for byte (SHA-256 against the fixture's bytes for that
//     path, and its length). See `keepBinaryBodies` for how, and why it touches autocannon's
//     internals.
//   - The mirror's RSS is sampled every second from /proc; the phase reports it at 10, 30
//     and 60 s and the least-squares slope over the last 40 s.
//
// Pass: 0 wrong bytes (warm and cold), 0 warm responses other than 200/304 (and none cut
// off or timed out), fitted RSS growth over the last 40 s below LOAD_PLAN.limitGrowthMiB
// (judged for runs of 60 s or more only), the scenario really happened (the upstream
// answered 503s, cold objects were fetched), and afterwards every warm object is still right,
// POST /verify finds no damaged object and the process is alive.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon, { type Client, type Result } from 'autocannon';
import type { ChildProcess } from 'node:child_process';
import { tokenPath } from '../src-main/server/access.js';
import { createApiClient } from '../src-shared/api-client.js';
import type { FakeUpstream } from '../test/support/fake-upstream.js';
import type { FixtureRelease, FixtureRepo } from '../test/support/hex-fixtures.js';
import { hexLikeSizes, publishSized, seededRandom } from '../test/support/sized-fixtures.js';
import { cpuSecondsOf, fetchDigest, fmt, mapLimit, memoryOf, MiB, summarize } from './util.js';

const QUICK = process.env.BENCH_QUICK === '1';

export const LOAD_PLAN = {
  durationSec: Number(process.env.BENCH_LOAD_DURATION ?? (QUICK ? 10 : 60)),
  connections: 64,
  /** Request mix (fractions of all requests). */
  mix: { warmTarball: 0.7, warmRegistry: 0.15, cold: 0.15 },
  warmTarballs: 150,
  warmPackages: 30,
  coldReleases: 400,
  coldPackages: 20,
  /** Cold tarball sizes, log-uniform (KiB). */
  coldMinKB: 5,
  coldMaxKB: 200,
  /** HEXHUB_REGISTRY_TTL for this mirror: cached records are revalidated under the flapping upstream. */
  registryTtlSec: Number(process.env.BENCH_LOAD_REGISTRY_TTL ?? 5),
  /** BENCH_LOAD_FLAP=0 runs the same load with a healthy upstream (a reference for latency; the phase then cannot pass). */
  flap: process.env.BENCH_LOAD_FLAP !== '0',
  /** Concurrent DELETEs through the control API that turn fetched cold releases cold again. */
  deleters: 16,
  /** autocannon's per-request timeout (s). */
  timeoutSec: 30,
  /** The memory window: the last 40 s of the run (or the last two thirds of a shorter run). */
  memoryWindowSec: 40,
  /**
   * Limit on RSS growth over the memory window, from the least-squares fit (so a GC sawtooth
   * does not count): 20 MiB in 40 s = 30 MiB/min. A leak of one small object per request
   * (~8k req/s) would be far above it; heap and hot-cache warm-up happen before the window.
   */
  limitGrowthMiB: 20,
  /**
   * Shorter runs (BENCH_QUICK's 10 s) report memory but are not judged on it: RSS climbs for
   * the first 10-60 s of the load (heap growing to its working size), so a short run's window
   * is all climb and says nothing about a leak.
   */
  memoryJudgedFromSec: 60,
};

type Kind = 'warmTarball' | 'warmRegistry' | 'cold';
const KINDS: Kind[] = ['warmTarball', 'warmRegistry', 'cold'];

interface Target {
  kind: Kind;
  path: string;
  sha256: string;
  bytes: number;
  cold?: ColdItem;
}

interface ColdItem {
  release: FixtureRelease;
  target: Target;
  state: 'cold' | 'requested' | 'deleting';
}

export interface ClassCounts {
  /** Complete responses. */
  responses: number;
  s2xx: number;
  s3xx: number;
  s4xx: number;
  s5xx: number;
  /** Requests sent that got no complete response: connection cut, reset or timed out. */
  noResponse: number;
  wrongBytes: number;
  statusCodes: Record<string, number>;
  /** X-HexHub-Cache of the responses (none: no header, e.g. an error). */
  cacheStates: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
}

export interface LoadPhaseFigures {
  /** Planned duration of the load (s). */
  durationSec: number;
  /** autocannon's measured duration (s); req/s is responses / this. */
  measuredSec: number;
  connections: number;
  mix: typeof LOAD_PLAN.mix;
  registryTtlSec: number;
  fixtures: {
    warmTarballs: number;
    warmPackages: number;
    warmBytes: number;
    warmMedianBytes: number;
    warmMaxBytes: number;
    coldReleases: number;
    coldPackages: number;
    coldMinBytes: number;
    coldMaxBytes: number;
    registryPaths: number;
  };
  requests: number;
  reqPerSec: number;
  mibPerSec: number;
  latencyMs: { mean: number; p50: number; p99: number; max: number };
  byKind: Record<Kind, ClassCounts>;
  wrongBytes: number;
  wrongBytesSamples: string[];
  /** Warm requests that did not get a 200/304 with the right bytes (any reason). */
  warmFailures: number;
  warm5xx: number;
  cold5xx: number;
  /** Cold tarballs HexHub fetched, verified, stored and served (200, X-HexHub-Cache MISS). */
  coldFetched: number;
  /** A cold request was due but every cold release was in use or being deleted: sent as warm. */
  coldPoolEmpty: number;
  deletes: { calls: number; removed: number; afterSuccessFoundNothing: number; afterFailureRemovedSomething: number; failed: number };
  autocannon: { requests: number; '2xx': number; non2xx: number; errors: number; timeouts: number; statusCodes: Record<string, number> };
  /** Responses the HTTP parser could not read (must be 0; a desynchronised connection). */
  parseErrors: number;
  upstream: { requests: number; tarballRequests: number; registryRequests: number; status503: number; status200: number; status304: number; flapHits: number };
  mirrorLog: Record<string, number>;
  /** HexHub's own time for the cold tarball transfers during the load (its upstream_fetch log lines: retries, write, verify, commit). */
  mirrorColdFetchMs: { n: number; p50: number; p99: number };
  memory: {
    beforeLoadBytes: number;
    at: { sec: number; bytes: number }[];
    maxBytes: number;
    windowSec: number;
    slopeMiBPerMin: number;
    fittedGrowthMiB: number;
    windowFirstLastMiB: [number, number];
    limitGrowthMiB: number;
    /** False for runs shorter than memoryJudgedFromSec: growth reported, not judged. */
    judged: boolean;
    samples: [number, number][];
  };
  mirrorCpuPct: number;
  /** This process: load generator, fake upstream, body checks and deletes (% of one core). */
  benchCpuPct: number;
  /** Event-loop delay of this process during the load (ms): high means the client side was saturated. */
  benchLoopDelayMs: { p50: number; p99: number; max: number };
  after: { warmRechecked: number; warmRecheckProblems: string[]; verify: { checked: number; ok: number; problems: number }; mirrorAlive: boolean };
  pass: boolean;
  failures: string[];
}

export interface LoadMirror {
  url: string;
  dataDir: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

export interface LoadPhaseDeps {
  upstream: FakeUpstream;
  repo: FixtureRepo;
  startMirror(label: string, env: Record<string, string>): Promise<LoadMirror>;
  log(line: string): void;
}

const tarballPath = (r: { name: string; version: string }) => `/tarballs/${r.name}-${r.version}.tar`;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function emptyCounts(): ClassCounts {
  return {
    responses: 0,
    s2xx: 0,
    s3xx: 0,
    s4xx: 0,
    s5xx: 0,
    noResponse: 0,
    wrongBytes: 0,
    statusCodes: {},
    cacheStates: {},
    latencyMs: { p50: NaN, p99: NaN, max: NaN },
  };
}

// ------------------------------------------------------------------ autocannon internals

/** The parts of autocannon 8.0.0's Client (lib/httpClient.js) this phase hooks into. */
interface QueueEntry {
  body: unknown;
}
interface ClientInternals {
  pipelinedRequests: {
    peek(): QueueEntry | undefined;
    addBody(data: Buffer): void;
    insertRequest(req: unknown): void;
    terminateRequest(): QueueEntry | undefined;
    clear(): void;
  };
  parser: { execute(chunk: Buffer, start?: number, length?: number): number | Error; reinitialize(type: string): void };
  requestIterator: { context: Record<string, unknown> };
  _connect(): void;
}

/**
 * Makes one autocannon connection hand `onResponse` the body as a Buffer of the exact bytes
 * received, and report requests that never got a complete response.
 *
 * THIS RELIES ON AUTOCANNON INTERNALS (autocannon 8.0.0, pinned in package.json): the
 * Client's `pipelinedRequests` queue (lib/pipelinedRequestsQueue.js), its `parser`
 * (http-parser-js) and `_connect`. Check them again when upgrading autocannon.
 *
 *  - Bodies. The queue's addBody does `req.body += data`: every chunk is decoded to a
 *    string, which is not binary-safe (a multi-byte UTF-8 sequence split across chunks, and
 *    any invalid sequence, turn into U+FFFD), so a string body cannot be checked byte for
 *    byte. (bench/load.ts even makes addBody a no-op on the prototype, for throughput.) Here,
 *    per connection, addBody keeps the Buffer chunks and terminateRequest concatenates them,
 *    so `recordBody` passes a Buffer to `onResponse`.
 *  - Cut responses. When a connection ends or errors (or a request times out), autocannon
 *    reconnects with `_connect()`, but on 'end' and 'error' it neither clears the queue nor
 *    resets the HTTP parser: the rest of a response cut short would be glued to the start of
 *    the next one on the new connection and parsed as its body -- wrong bytes that are the
 *    load generator's, not the server's. So when `_connect` is called while a request is
 *    outstanding, that request is reported (`onCut`, with the connection's context, which
 *    still names it), and the queue and parser are reset before reconnecting.
 *  - Parse errors (execute returning an Error) are counted; autocannon ignores them.
 */
export function keepBinaryBodies(client: Client, onCut: (context: Record<string, unknown>) => void, onParseError: () => void): void {
  const c = client as unknown as ClientInternals;
  const queue = c.pipelinedRequests;
  let outstanding = false;
  queue.addBody = (data: Buffer) => {
    const entry = queue.peek();
    if (!entry) return;
    if (!Array.isArray(entry.body)) entry.body = [];
    (entry.body as Buffer[]).push(data);
  };
  const insert = queue.insertRequest.bind(queue);
  queue.insertRequest = (req: unknown) => {
    outstanding = true;
    insert(req);
  };
  const terminate = queue.terminateRequest.bind(queue);
  queue.terminateRequest = () => {
    const entry = terminate();
    outstanding = false;
    if (entry) entry.body = Array.isArray(entry.body) ? Buffer.concat(entry.body as Buffer[]) : Buffer.alloc(0);
    return entry;
  };
  const execute = c.parser.execute.bind(c.parser);
  c.parser.execute = (chunk: Buffer, start?: number, length?: number) => {
    const result = execute(chunk, start, length);
    if (result instanceof Error) onParseError();
    return result;
  };
  const connect = c._connect.bind(client);
  c._connect = () => {
    if (outstanding) {
      outstanding = false;
      onCut(c.requestIterator.context);
      queue.clear();
      c.parser.reinitialize('RESPONSE');
    }
    connect();
  };
}

// ------------------------------------------------------------------ the phase

export async function benchReliabilityLoad(deps: LoadPhaseDeps): Promise<LoadPhaseFigures> {
  const { upstream, repo, log } = deps;
  const plan = LOAD_PLAN;
  const random = seededRandom(20250101);

  log(`load: building ${plan.warmTarballs} warm and ${plan.coldReleases} cold fixture releases`);
  const warm: FixtureRelease[] = [];
  const sizes = hexLikeSizes(plan.warmTarballs, random);
  for (let i = 0; i < sizes.length; i++) {
    warm.push(
      await publishSized(
        repo,
        `load_warm_${String(i % plan.warmPackages).padStart(2, '0')}`,
        `1.${Math.floor(i / plan.warmPackages)}.0`,
        sizes[i]!,
        20_000 + i,
      ),
    );
  }
  const coldReleases: FixtureRelease[] = [];
  for (let i = 0; i < plan.coldReleases; i++) {
    const size = Math.round(1024 * Math.exp(Math.log(plan.coldMinKB) + random() * Math.log(plan.coldMaxKB / plan.coldMinKB)));
    coldReleases.push(
      await publishSized(repo, `load_cold_${String(i % plan.coldPackages).padStart(2, '0')}`, `3.${Math.floor(i / plan.coldPackages)}.0`, size, 30_000 + i),
    );
  }
  const packages = [...new Set([...warm, ...coldReleases].map((r) => r.name))];

  const warmTargets: Target[] = warm.map((r) => ({ kind: 'warmTarball', path: tarballPath(r), sha256: r.outerChecksum, bytes: r.bytes.length }));
  const registryTargets: Target[] = packages.map((name) => {
    const body = repo.packageBody(name)!;
    return { kind: 'warmRegistry', path: `/packages/${name}`, sha256: sha256(body), bytes: body.length };
  });
  const cold: ColdItem[] = coldReleases.map((release) => {
    const item: ColdItem = {
      release,
      state: 'cold',
      target: { kind: 'cold', path: tarballPath(release), sha256: release.outerChecksum, bytes: release.bytes.length },
    };
    item.target.cold = item;
    return item;
  });

  const mirror = await deps.startMirror('load', { HEXHUB_REGISTRY_TTL: String(plan.registryTtlSec) });
  const pid = mirror.child.pid!;
  const api = createApiClient({ baseUrl: mirror.url, token: (await readFile(tokenPath(mirror.dataDir), 'utf8')).trim() });

  // ---- warm-up: every warm object fetched through HexHub and checked, before the flapping starts
  log(`load: warming HexHub: ${packages.length} registry records and ${warm.length} tarballs (checked byte for byte, then again as HITs)`);
  const check = async (t: Target, states?: string[]) => {
    const got = await fetchDigest(mirror.url, t.path);
    if (got.error || got.status !== 200 || got.sha256 !== t.sha256)
      throw new Error(
        `load warm-up ${t.path}: status ${got.status}, ${got.bytes} bytes, ${got.error ?? (got.sha256 === t.sha256 ? 'right bytes' : 'WRONG BYTES')}`,
      );
    const state = String(got.headers['x-hexhub-cache']);
    if (states && !states.includes(state)) throw new Error(`load warm-up ${t.path}: X-HexHub-Cache ${state}, expected ${states.join(' or ')}`);
  };
  await mapLimit(registryTargets, 8, (t) => check(t));
  await mapLimit(warmTargets, 8, (t) => check(t));
  await mapLimit(warmTargets, 8, (t) => check(t, ['HIT']));
  // Stored; older than the short TTL by now, perhaps, hence REVALIDATED (the upstream is healthy still).
  await mapLimit(registryTargets, 8, (t) => check(t, ['HIT', 'REVALIDATED']));

  // ---- counters
  const byKind = Object.fromEntries(KINDS.map((k) => [k, emptyCounts()])) as Record<Kind, ClassCounts>;
  const latencies = Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
  const allLatencies: number[] = [];
  const wrongBytesSamples: string[] = [];
  let coldPoolEmpty = 0;
  let parseErrors = 0;
  let lastKind: Kind | undefined;

  // ---- cold pool and the background deletes
  const pool: ColdItem[] = [...cold];
  const toDelete: { item: ColdItem; succeeded: boolean }[] = [];
  const deletes = { calls: 0, removed: 0, afterSuccessFoundNothing: 0, afterFailureRemovedSomething: 0, failed: 0 };
  let deleting = true;
  // Idle deleters wait on `work`; every new job (and the end of the run) resolves it.
  let wake: () => void = () => undefined;
  let work = new Promise<void>((resolve) => (wake = resolve));
  const notify = () => {
    wake();
    work = new Promise<void>((resolve) => (wake = resolve));
  };
  const finished = (item: ColdItem, succeeded: boolean) => {
    item.state = 'deleting';
    toDelete.push({ item, succeeded });
    notify();
  };
  const deleter = async () => {
    for (;;) {
      const job = toDelete.shift();
      if (!job) {
        if (!deleting) return;
        await work;
        continue;
      }
      deletes.calls++;
      try {
        const { removed } = await api.deleteRelease(job.item.release.name, job.item.release.version);
        deletes.removed += removed;
        if (job.succeeded && removed === 0) deletes.afterSuccessFoundNothing++;
        if (!job.succeeded && removed > 0) deletes.afterFailureRemovedSomething++;
      } catch (error) {
        deletes.failed++;
        if (deletes.failed <= 3) log(`load: DELETE ${job.item.release.name} ${job.item.release.version} failed: ${(error as Error).message}`);
      }
      job.item.state = 'cold';
      pool.push(job.item);
    }
  };

  const choose = (): Target => {
    const r = random();
    if (r < plan.mix.cold) {
      if (pool.length > 0) {
        const i = Math.floor(random() * pool.length);
        const item = pool[i]!;
        pool[i] = pool[pool.length - 1]!;
        pool.pop();
        item.state = 'requested';
        return item.target;
      }
      coldPoolEmpty++;
    }
    if (r < plan.mix.cold + plan.mix.warmRegistry) return registryTargets[Math.floor(random() * registryTargets.length)]!;
    return warmTargets[Math.floor(random() * warmTargets.length)]!;
  };

  const onResponse = (status: number, body: unknown, context: Record<string, unknown>, headers: Record<string, string | string[]>) => {
    const target = context.target as Target | undefined;
    if (!target) return;
    context.target = undefined;
    lastKind = target.kind;
    const counts = byKind[target.kind];
    counts.responses++;
    counts.statusCodes[status] = (counts.statusCodes[status] ?? 0) + 1;
    if (status >= 200 && status < 300) counts.s2xx++;
    else if (status < 400) counts.s3xx++;
    else if (status < 500) counts.s4xx++;
    else counts.s5xx++;
    let state = 'none';
    for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === 'x-hexhub-cache') state = String(value);
    counts.cacheStates[state] = (counts.cacheStates[state] ?? 0) + 1;
    if (status === 200) {
      const buf = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
      if (buf.length !== target.bytes || sha256(buf) !== target.sha256) {
        counts.wrongBytes++;
        if (wrongBytesSamples.length < 10) {
          wrongBytesSamples.push(
            `${target.path}: ${Buffer.isBuffer(body) ? '' : `body not a Buffer (${typeof body}); `}${buf.length} bytes (expected ${target.bytes}), sha256 ${sha256(buf).slice(0, 12)}… (expected ${target.sha256.slice(0, 12)}…), X-HexHub-Cache ${state}`,
          );
        }
      }
    }
    if (target.cold) finished(target.cold, status === 200);
  };

  const onCut = (context: Record<string, unknown>) => {
    const target = context.target as Target | undefined;
    if (!target) return;
    context.target = undefined;
    byKind[target.kind].noResponse++;
    if (target.cold) finished(target.cold, false);
  };

  // ---- the run
  const upstreamBefore = upstream.requests.length;
  const flap = plan.flap ? upstream.fault.flap() : undefined;
  const deleters = Array.from({ length: plan.deleters }, deleter);
  const beforeLoad = (await memoryOf(pid))!;
  const cpu0 = await cpuSecondsOf(pid);
  const benchCpu0 = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const samples: [number, number][] = [];
  const t0 = performance.now();
  const loadStartedAt = Date.now();
  let sampling = true;
  const sampler = (async () => {
    for (let next = 1; sampling; next++) {
      const wait = t0 + next * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!sampling) break;
      const m = await memoryOf(pid);
      if (m) samples.push([(performance.now() - t0) / 1000, m.rss]);
    }
  })();

  log(
    `load: ${plan.connections} connections for ${plan.durationSec} s, mix ${fmt(plan.mix.warmTarball * 100, 0)} % warm tarballs / ${fmt(plan.mix.warmRegistry * 100, 0)} % registry / ${fmt(plan.mix.cold * 100, 0)} % cold, ${plan.flap ? 'upstream flapping (every other request 503)' : 'upstream HEALTHY (BENCH_LOAD_FLAP=0, reference run)'}, registry TTL ${plan.registryTtlSec} s`,
  );
  const instance = autocannon({
    url: mirror.url,
    connections: plan.connections,
    duration: plan.durationSec,
    timeout: plan.timeoutSec,
    requests: [
      {
        method: 'GET',
        setupRequest: (request, context) => {
          const target = choose();
          context.target = target;
          return { ...request, path: target.path };
        },
        onResponse,
      },
    ],
    setupClient: (client) => keepBinaryBodies(client, onCut, () => parseErrors++),
  });
  // Emitted synchronously right after onResponse for the same response.
  instance.on('response', (_client, _status, _bytes, ms) => {
    allLatencies.push(ms);
    if (lastKind) latencies[lastKind].push(ms);
    lastKind = undefined;
  });
  const result: Result = await instance;
  const wallSec = (performance.now() - t0) / 1000;
  const cpuSec = (await cpuSecondsOf(pid)) - cpu0;
  const benchCpu = process.cpuUsage(benchCpu0);
  loopDelay.disable();
  sampling = false;
  await sampler;
  flap?.clear();
  deleting = false;
  notify();
  await Promise.all(deleters);
  const flapHits = flap?.hits ?? 0;

  // ---- upstream side
  const during = upstream.requests.slice(upstreamBefore);
  const up = {
    requests: during.length,
    tarballRequests: during.filter((r) => r.path.startsWith('/tarballs/')).length,
    registryRequests: during.filter((r) => r.path.startsWith('/packages/')).length,
    status503: during.filter((r) => r.status === 503).length,
    status200: during.filter((r) => r.status === 200).length,
    status304: during.filter((r) => r.status === 304).length,
    flapHits,
  };

  // ---- after the load: warm objects still right, the stored cache verifies, the process is alive
  log('load: after the load (upstream healthy again): every warm object once more, then POST /-/api/verify');
  const warmRecheckProblems: string[] = [];
  await mapLimit([...registryTargets, ...warmTargets], 8, async (t) => {
    const got = await fetchDigest(mirror.url, t.path);
    if (got.error || got.status !== 200 || got.sha256 !== t.sha256)
      warmRecheckProblems.push(
        `${t.path}: status ${got.status}, ${got.bytes} bytes${got.error ? `, ${got.error}` : ''}${got.sha256 !== t.sha256 ? ', wrong bytes' : ''}`,
      );
  });
  const verify = await api.verify();
  const mirrorAlive = mirror.child.exitCode === null && mirror.child.signalCode === null;

  // ---- what HexHub logged (structured JSON on stderr), by event
  const mirrorLog: Record<string, number> = {};
  const storedTarballMs: number[] = [];
  for (const line of mirror.stderr().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { event?: string; level?: number; outcome?: string; kind?: string; ms?: number; time?: string };
      const key = `${entry.event ?? 'other'}${entry.outcome ? `:${entry.outcome}` : ''}`;
      mirrorLog[key] = (mirrorLog[key] ?? 0) + 1;
      if (
        entry.event === 'upstream_fetch' &&
        entry.outcome === 'stored' &&
        entry.kind === 'tarball' &&
        typeof entry.ms === 'number' &&
        Date.parse(entry.time ?? '') >= loadStartedAt
      )
        storedTarballMs.push(entry.ms);
      if ((entry.level ?? 0) >= 50) mirrorLog['level>=error'] = (mirrorLog['level>=error'] ?? 0) + 1;
    } catch {
      mirrorLog['unparsed'] = (mirrorLog['unparsed'] ?? 0) + 1;
    }
  }
  await mirror.stop();

  // ---- figures
  for (const k of KINDS) {
    const s = summarize(latencies[k]);
    byKind[k].latencyMs = { p50: s.p50, p99: s.p99, max: s.max };
  }
  const all = summarize(allLatencies);
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(count);
  const requests = KINDS.reduce((a, k) => a + byKind[k].responses, 0);
  const wrongBytes = KINDS.reduce((a, k) => a + byKind[k].wrongBytes, 0);
  const warmKinds: Kind[] = ['warmTarball', 'warmRegistry'];
  const warmFailures = warmKinds.reduce((a, k) => {
    const c = byKind[k];
    const okStatus = (c.statusCodes['200'] ?? 0) + (c.statusCodes['304'] ?? 0);
    return a + (c.responses - okStatus) + c.noResponse + c.wrongBytes;
  }, 0);
  const warm5xx = byKind.warmTarball.s5xx + byKind.warmRegistry.s5xx;
  const coldFetched = byKind.cold.cacheStates['MISS'] ?? 0;

  const duration = plan.durationSec;
  const windowSec = Math.min(plan.memoryWindowSec, (duration * 2) / 3);
  const inWindow = samples.filter(([t]) => t >= duration - windowSec - 0.5);
  const slopePerSec = leastSquaresSlope(inWindow);
  const at = [10, 30, 60].filter((s) => s <= duration + 0.5).map((sec) => ({ sec, bytes: nearest(samples, sec) }));
  const memory = {
    beforeLoadBytes: beforeLoad.rss,
    at,
    maxBytes: Math.max(...samples.map(([, b]) => b)),
    windowSec,
    slopeMiBPerMin: (slopePerSec * 60) / MiB,
    fittedGrowthMiB: (slopePerSec * windowSec) / MiB,
    windowFirstLastMiB: [(inWindow[0]?.[1] ?? NaN) / MiB, (inWindow[inWindow.length - 1]?.[1] ?? NaN) / MiB] as [number, number],
    limitGrowthMiB: plan.limitGrowthMiB,
    judged: duration >= plan.memoryJudgedFromSec,
    samples: samples.map(([t, b]) => [Math.round(t * 10) / 10, b] as [number, number]),
  };

  const failures: string[] = [];
  if (wrongBytes > 0) failures.push(`${wrongBytes} response(s) with wrong bytes`);
  if (warmFailures > 0) failures.push(`${warmFailures} warm request(s) without a correct 200/304 (${warm5xx} of them 5xx)`);
  if (memory.judged && !(memory.fittedGrowthMiB < plan.limitGrowthMiB))
    failures.push(`RSS grew ${fmt(memory.fittedGrowthMiB)} MiB over the last ${fmt(windowSec, 0)} s (fitted), limit ${plan.limitGrowthMiB} MiB`);
  if (parseErrors > 0) failures.push(`${parseErrors} HTTP parse error(s) in the load generator`);
  if (up.status503 === 0) failures.push('the upstream never answered 503: the flapping did not happen');
  if (coldFetched === 0) failures.push('no cold object was fetched');
  if (warmRecheckProblems.length > 0) failures.push(`${warmRecheckProblems.length} warm object(s) wrong after the load`);
  if (verify.problems.length > 0) failures.push(`${verify.problems.length} stored object(s) failed POST /verify after the load`);
  if (!mirrorAlive) failures.push('the HexHub process died');

  const warmBytes = warm.reduce((a, r) => a + r.bytes.length, 0);
  const sortedWarm = warm.map((r) => r.bytes.length).sort((a, b) => a - b);
  const coldSizes = coldReleases.map((r) => r.bytes.length);
  return {
    durationSec: plan.durationSec,
    measuredSec: result.duration,
    connections: plan.connections,
    mix: plan.mix,
    registryTtlSec: plan.registryTtlSec,
    fixtures: {
      warmTarballs: warm.length,
      warmPackages: plan.warmPackages,
      warmBytes,
      warmMedianBytes: sortedWarm[Math.floor(sortedWarm.length / 2)]!,
      warmMaxBytes: sortedWarm[sortedWarm.length - 1]!,
      coldReleases: coldReleases.length,
      coldPackages: plan.coldPackages,
      coldMinBytes: Math.min(...coldSizes),
      coldMaxBytes: Math.max(...coldSizes),
      registryPaths: registryTargets.length,
    },
    requests,
    reqPerSec: requests / result.duration,
    mibPerSec: result.throughput.total / MiB / result.duration,
    latencyMs: { mean: all.mean, p50: all.p50, p99: all.p99, max: all.max },
    byKind,
    wrongBytes,
    wrongBytesSamples,
    warmFailures,
    warm5xx,
    cold5xx: byKind.cold.s5xx,
    coldFetched,
    coldPoolEmpty,
    deletes,
    autocannon: {
      requests: Object.values(statusCodes).reduce((a, b) => a + b, 0),
      '2xx': result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      statusCodes,
    },
    parseErrors,
    upstream: up,
    mirrorLog,
    mirrorColdFetchMs: (() => {
      const s = summarize(storedTarballMs);
      return { n: s.n, p50: s.p50, p99: s.p99 };
    })(),
    memory,
    mirrorCpuPct: (100 * cpuSec) / wallSec,
    benchCpuPct: (100 * (benchCpu.user + benchCpu.system)) / 1e6 / wallSec,
    benchLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    after: {
      warmRechecked: registryTargets.length + warmTargets.length,
      warmRecheckProblems: warmRecheckProblems.slice(0, 10),
      verify: { checked: verify.checked, ok: verify.ok, problems: verify.problems.length },
      mirrorAlive,
    },
    pass: failures.length === 0,
    failures,
  };
}

/** Slope (per second) of the least-squares line through [t, y] points. */
function leastSquaresSlope(points: [number, number][]): number {
  if (points.length < 2) return NaN;
  const n = points.length;
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** The sample closest in time to `sec`. */
function nearest(samples: [number, number][], sec: number): number {
  let best: [number, number] | undefined;
  for (const s of samples) if (!best || Math.abs(s[0] - sec) < Math.abs(best[0] - sec)) best = s;
  return best?.[1] ?? NaN;
}

// ------------------------------------------------------------------ report

const mib = (b: number) => `${fmt(b / MiB)} MiB`;
const PF = (pass: boolean) => (pass ? 'PASS' : 'FAIL');

function classLine(label: string, c: ClassCounts): string {
  const codes = Object.entries(c.statusCodes)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const states = Object.entries(c.cacheStates)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `  ${label.padEnd(14)} ${String(c.responses).padStart(7)} responses (${codes || 'none'}); 2xx ${c.s2xx}, 3xx ${c.s3xx}, 4xx ${c.s4xx}, 5xx ${c.s5xx}; no response ${c.noResponse}; wrong bytes ${c.wrongBytes}; X-HexHub-Cache ${states || '-'}; p50 ${fmt(c.latencyMs.p50, 1)} ms, p99 ${fmt(c.latencyMs.p99, 1)} ms, max ${fmt(c.latencyMs.max, 0)} ms`;
}

/** The phase's section of the text report. */
export function loadReport(l: LoadPhaseFigures, noise: string): string[] {
  const out: string[] = [];
  const m = l.memory;
  out.push('', `7. Load under a flapping upstream  [${PF(l.pass)}]${noise}`);
  out.push(
    `  ${l.connections} connections, ${fmt(l.durationSec, 0)} s; mix ${fmt(l.mix.warmTarball * 100, 0)} % warm tarballs (${l.fixtures.warmTarballs}, ${mib(l.fixtures.warmBytes)}, median ${fmt(l.fixtures.warmMedianBytes / 1024)} KiB, max ${mib(l.fixtures.warmMaxBytes)}), ` +
      `${fmt(l.mix.warmRegistry * 100, 0)} % registry records (${l.fixtures.registryPaths}, TTL ${l.registryTtlSec} s), ${fmt(l.mix.cold * 100, 0)} % cold tarballs (pool of ${l.fixtures.coldReleases}, ${fmt(l.fixtures.coldMinBytes / 1024)}–${fmt(l.fixtures.coldMaxBytes / 1024)} KiB, made cold again by DELETE)`,
  );
  out.push(
    `  ${l.requests} responses, ${fmt(l.reqPerSec, 0)} req/s, ${fmt(l.mibPerSec, 0)} MiB/s; latency p50 ${fmt(l.latencyMs.p50, 1)} ms, p99 ${fmt(l.latencyMs.p99, 1)} ms, max ${fmt(l.latencyMs.max, 0)} ms; CPU (% of one core): HexHub ${fmt(l.mirrorCpuPct, 0)}, bench process (load generator + fake upstream + checks) ${fmt(l.benchCpuPct, 0)}; bench event-loop delay p50 ${fmt(l.benchLoopDelayMs.p50, 1)} ms, p99 ${fmt(l.benchLoopDelayMs.p99, 1)} ms`,
  );
  out.push(classLine('warm tarball', l.byKind.warmTarball));
  out.push(classLine('registry', l.byKind.warmRegistry));
  out.push(classLine('cold tarball', l.byKind.cold));
  out.push(
    `  wrong bytes: ${l.wrongBytes}; warm requests without a correct 200/304: ${l.warmFailures} (5xx: ${l.warm5xx}); cold 5xx (allowed, not cached): ${l.cold5xx}; cold objects fetched and served (MISS): ${l.coldFetched}; cold pool empty: ${l.coldPoolEmpty}`,
  );
  for (const s of l.wrongBytesSamples) out.push(`    ${s}`);
  out.push(
    `  autocannon: ${l.autocannon.requests} responses, 2xx ${l.autocannon['2xx']}, non-2xx ${l.autocannon.non2xx}, errors ${l.autocannon.errors}, timeouts ${l.autocannon.timeouts}; parse errors ${l.parseErrors}`,
  );
  out.push(
    `  HexHub's own time per cold tarball transfer (log lines, ${l.mirrorColdFetchMs.n} during the load): p50 ${fmt(l.mirrorColdFetchMs.p50, 0)} ms, p99 ${fmt(l.mirrorColdFetchMs.p99, 0)} ms`,
  );
  out.push(
    `  upstream: ${l.upstream.requests} requests (${l.upstream.tarballRequests} tarball, ${l.upstream.registryRequests} registry): 503 ${l.upstream.status503}, 200 ${l.upstream.status200}, 304 ${l.upstream.status304}`,
  );
  out.push(
    `  control API deletes: ${l.deletes.calls} (removed ${l.deletes.removed}; after a 200 found nothing ${l.deletes.afterSuccessFoundNothing}; after a failure removed something ${l.deletes.afterFailureRemovedSomething}; failed ${l.deletes.failed})`,
  );
  out.push(
    `  HexHub log events (whole life of the process, by event:outcome): ${Object.entries(l.mirrorLog)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  out.push(
    `  RSS: before the load ${mib(m.beforeLoadBytes)}; ${m.at.map((a) => `${a.sec} s ${mib(a.bytes)}`).join(', ')}; max ${mib(m.maxBytes)}; last ${fmt(m.windowSec, 0)} s: slope ${fmt(m.slopeMiBPerMin, 2)} MiB/min, fitted growth ${fmt(m.fittedGrowthMiB, 2)} MiB ` +
      `(first/last sample ${fmt(m.windowFirstLastMiB[0])}/${fmt(m.windowFirstLastMiB[1])} MiB); limit < ${m.limitGrowthMiB} MiB${m.judged ? '' : ' (NOT JUDGED: run shorter than 60 s, still in the warm-up climb)'}`,
  );
  out.push(
    `  after the load: ${l.after.warmRechecked} warm objects re-fetched, ${l.after.warmRecheckProblems.length} problems; POST /verify ${l.after.verify.ok}/${l.after.verify.checked} ok, ${l.after.verify.problems} problems; HexHub ${l.after.mirrorAlive ? 'alive' : 'DEAD'}`,
  );
  for (const p of l.after.warmRecheckProblems) out.push(`    ${p}`);
  for (const f of l.failures) out.push(`  FAIL: ${f}`);
  return out;
}

/** The phase's row of the Markdown table. */
export function loadMarkdownRow(l: LoadPhaseFigures): string[] {
  const m = l.memory;
  return [
    '7',
    `load: ${l.connections} connections, ${fmt(l.durationSec, 0)} s, upstream flapping (every other request 503); ${fmt(l.mix.warmTarball * 100, 0)} % warm tarballs, ${fmt(l.mix.warmRegistry * 100, 0)} % registry (TTL ${l.registryTtlSec} s), ${fmt(l.mix.cold * 100, 0)} % cold tarballs`,
    `${fmt(l.reqPerSec, 0)} req/s, p50 ${fmt(l.latencyMs.p50, 1)} ms, p99 ${fmt(l.latencyMs.p99, 1)} ms; wrong bytes ${l.wrongBytes}; warm non-200/304 ${l.warmFailures} of ${l.byKind.warmTarball.responses + l.byKind.warmRegistry.responses}; cold 5xx ${l.cold5xx} of ${l.byKind.cold.responses} (${l.coldFetched} fetched); RSS ${m.at.map((a) => `${a.sec} s ${fmt(a.bytes / MiB, 0)}`).join(' / ')} MiB, ${fmt(m.slopeMiBPerMin, 1)} MiB/min over the last ${fmt(m.windowSec, 0)} s`,
    `${l.upstream.requests} upstream requests, ${l.upstream.status503} of them 503`,
    `0 wrong bytes; 0 warm 5xx; RSS growth (fit, last ${fmt(m.windowSec, 0)} s) < ${m.limitGrowthMiB} MiB; got ${fmt(m.fittedGrowthMiB, 1)} MiB${m.judged ? '' : ' (not judged, run < 60 s)'}`,
    PF(l.pass),
  ];
}
