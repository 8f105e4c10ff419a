// Small helpers for the benchmark: a streaming, hashing HTTP GET, process sampling from
// /proc, a free port, and summary statistics.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { request, type Agent } from 'node:http';
import { httpGet } from '../test/support/http.js';

export interface Fetched {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
  sha256: string;
  /** From sending the request to the last body byte. */
  ms: number;
  /** From sending the request to the response headers. */
  ttfbMs: number;
  error?: string;
}

/** GET that hashes the body as it streams in (never holds it), timed to the last byte. */
export function fetchDigest(base: string, path: string, agent: Agent | false = false): Promise<Fetched> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let ttfbMs = NaN;
    const done = (status: number, headers: Fetched['headers'], error?: string) =>
      resolve({ status, headers, bytes, sha256: hash.digest('hex'), ms: performance.now() - started, ttfbMs, ...(error ? { error } : {}) });
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET', agent }, (res) => {
      ttfbMs = performance.now() - started;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () => done(res.statusCode ?? 0, res.headers, res.complete ? undefined : 'incomplete body'));
      res.on('error', (error) => done(res.statusCode ?? 0, res.headers, error.message));
      res.on('aborted', () => done(res.statusCode ?? 0, res.headers, 'aborted'));
    });
    req.on('error', (error) => done(0, {}, error.message));
    req.end();
  });
}

/** Runs `task` over `items` with at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export { freePort } from '../test/support/ports.js';

/** VmRSS and VmHWM (peak) of a process, in bytes; undefined once it is gone. */
/** The mirror's /metrics, read once: a sample's value by metric name (the first, labels or not); NaN if there is none. */
export async function metricsOf(url: string): Promise<(name: string) => number> {
  const text = (await httpGet(url, '/metrics')).body.toString();
  return (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

export async function memoryOf(pid: number): Promise<{ rss: number; hwm: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system, all threads) used so far by a process and its direct children. */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const one = async (p: number) => {
    try {
      const stat = await readFile(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
    } catch {
      return 0;
    }
  };
  let total = await one(pid);
  try {
    for (const task of await readdir(`/proc/${pid}/task`)) {
      const children = (await readFile(`/proc/${pid}/task/${task}/children`, 'utf8')).trim();
      for (const child of children ? children.split(/\s+/) : []) total += await one(Number(child));
    }
  } catch {
    // gone, or no children file: the process alone
  }
  return total;
}

/**
 * CPU seconds used so far by every user-space process that is not this one or one of its
 * descendants (the servers under test are our children): other work on the machine.
 */
async function othersCpu(): Promise<Map<string, number>> {
  const stats = new Map<number, { ppid: number; cpu: number; start: string }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after the name: state ppid ... utime(11) stime(12) ... starttime(19)
      stats.set(Number(entry), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND, start: f[19] ?? '' });
    } catch {
      // exited meanwhile
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === process.pid) return true;
      p = stats.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const out = new Map<string, number>();
  for (const [pid, s] of stats) {
    if (pid === 2 || s.ppid === 2 || ours(pid)) continue; // kernel threads, and us
    out.set(`${pid}@${s.start}`, s.cpu);
  }
  return out;
}

/**
 * CPU used by other processes (noise), accumulated by sampling /proc every second, so that
 * short-lived processes (test runners, compilers) are counted even if they exit before a
 * measurement ends; at most the last second of an exiting process is missed.
 */
class OtherCpu {
  private last: Map<string, number> | undefined;
  private total = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<number> = Promise.resolve(0);

  private sample(): Promise<number> {
    this.sampling = this.sampling.then(async () => {
      const now = await othersCpu();
      if (this.last) for (const [key, cpu] of now) this.total += cpu - (this.last.get(key) ?? 0);
      this.last = now;
      return this.total;
    });
    return this.sampling;
  }

  /** CPU seconds used by other processes since the first call, up to now. */
  async seconds(): Promise<number> {
    if (!this.timer) {
      this.timer = setInterval(() => void this.sample(), 1000);
      this.timer.unref();
    }
    return this.sample();
  }
}

const otherCpu = new OtherCpu();

/** Measures how much CPU other processes used between start and stop (% of one core): noise. */
export async function noiseMeter(): Promise<{ stop(): Promise<number> }> {
  const before = await otherCpu.seconds();
  const t0 = performance.now();
  return {
    async stop() {
      return (100 * ((await otherCpu.seconds()) - before)) / ((performance.now() - t0) / 1000);
    },
  };
}

/** Samples a process's memory every `everyMs` until stopped; returns the peaks seen. */
export function sampleMemory(pid: number, everyMs = 20): { stop(): Promise<{ peakRss: number; hwm: number; samples: number }> } {
  let peakRss = 0;
  let hwm = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const m = await memoryOf(pid);
      if (m) {
        samples++;
        peakRss = Math.max(peakRss, m.rss);
        hwm = Math.max(hwm, m.hwm);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const m = await memoryOf(pid);
      if (m) hwm = Math.max(hwm, m.hwm);
      return { peakRss, hwm, samples };
    },
  };
}

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
}

/** Mean and nearest-rank percentiles. */
export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return {
    n: sorted.length,
    mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
    p50: at(50),
    p99: at(99),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

export const MiB = 1024 * 1024;

export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}
