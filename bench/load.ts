// Keep-alive load with autocannon over a set of paths: each connection walks the whole
// (shuffled) list from its own starting point, so requests spread evenly over every path.
import autocannon, { type Result } from 'autocannon';
import { createRequire } from 'node:module';
import { summarize } from './util.js';

// autocannon appends every response body chunk to a string (`body += chunk`, a UTF-8
// decode) even when nothing reads it; with multi-megabyte tarballs that decode is most of
// the load generator's CPU, on a machine where client and server share two cores. Nothing
// here reads bodies (no expectBody / verifyBody / onResponse; bytes are verified
// separately), so the append is made a no-op -- for every target alike.
const require = createRequire(import.meta.url);
const Queue = require('autocannon/lib/pipelinedRequestsQueue.js') as { prototype: { addBody(data: unknown): void } };
Queue.prototype.addBody = () => undefined;

// autocannon builds every request's bytes again for every connection, inside the timed run:
// each connection deep-clones the options (their request list included) and builds all of it,
// then setRequests rebuilds the list it is given. With thousands of paths (the large-working-set
// phase walks 60,000) that was most of the load generator's CPU. So the options carry one
// request only, the per-connection lists (setupClient) share their request objects, and
// setRequests skips those already built -- for every target alike.
interface BuiltRequest {
  requestBuffer?: Buffer;
  setupRequest?: unknown;
}
const Iterator = require('autocannon/lib/requestIterator.js') as {
  prototype: {
    requests: BuiltRequest[];
    currentRequest: BuiltRequest;
    currentRequestIndex: number;
    resetted: boolean;
    rebuildRequest(): unknown;
    setRequests(requests: BuiltRequest[] | undefined): void;
  };
};
Iterator.prototype.setRequests = function (requests) {
  this.resetted = false;
  this.requests = requests ?? [{}];
  this.currentRequestIndex = 0;
  for (const [i, request] of this.requests.entries()) {
    // As autocannon does: dynamic requests are built when their turn comes, except the first.
    const dynamic = typeof request.setupRequest === 'function';
    if (dynamic ? i > 0 : request.requestBuffer) continue;
    this.currentRequest = request;
    this.rebuildRequest();
  }
  this.currentRequest = this.requests[0]!;
};

export interface LoadRun {
  requests: number;
  bytes: number;
  durationSec: number;
  /** Every response's latency in ms (autocannon's own histogram rounds to whole ms). */
  latencies: number[];
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

export interface LoadResult {
  reqPerSec: number;
  bytesPerSec: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  durationSec: number;
  /** req/s of each run that was merged into this result. */
  rounds: number[];
}

export async function runLoad(url: string, paths: string[], connections: number, durationSec: number): Promise<LoadRun> {
  let clients = 0;
  const latencies: number[] = [];
  const requests = paths.map((path) => ({ method: 'GET', path }));
  const instance = autocannon({
    url,
    connections,
    duration: durationSec,
    timeout: 30,
    requests: requests.slice(0, 1),
    setupClient: (client) => {
      const offset = Math.floor(((clients++ % connections) * requests.length) / connections);
      client.setRequests([...requests.slice(offset), ...requests.slice(0, offset)]);
    },
  });
  instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  const result: Result = await instance;
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(count);
  return {
    requests: Object.values(statusCodes).reduce((a, b) => a + b, 0),
    bytes: result.throughput.total,
    durationSec: result.duration,
    latencies,
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}

/** Merges runs against one target (e.g. interleaved rounds) into one result. */
export function mergeRuns(runs: LoadRun[]): LoadResult {
  const sum = (f: (r: LoadRun) => number) => runs.reduce((a, r) => a + f(r), 0);
  const duration = sum((r) => r.durationSec);
  const latency = summarize(runs.flatMap((r) => r.latencies));
  const sorted = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const statusCodes: Record<string, number> = {};
  for (const r of runs) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    reqPerSec: sum((r) => r.requests) / duration,
    bytesPerSec: sum((r) => r.bytes) / duration,
    latencyMs: {
      mean: latency.mean,
      p50: latency.p50,
      p90: sorted[Math.max(0, Math.ceil(0.9 * sorted.length) - 1)] ?? NaN,
      p99: latency.p99,
      max: latency.max,
    },
    requests: sum((r) => r.requests),
    ok2xx: sum((r) => r.ok2xx),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    statusCodes,
    durationSec: duration,
    rounds: runs.map((r) => r.requests / r.durationSec),
  };
}
