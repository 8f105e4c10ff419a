// The background scrub: re-reads every stored object against its recorded checksum, slowly,
// so bit rot or a file changed behind the mirror's back is found without hashing on every
// hit (warm serving must stay a memory copy or a plain file read). A damaged object is
// quarantined, reported, and fetched again (tarballs and docs; registry resources are fetched
// again by the next request anyway).
//
// Pacing: reads are throttled to a byte rate (HEXHUB_SCRUB_RATE) in small chunks, so a pass
// costs a bounded share of the disk and CPU, and passes start an interval apart
// (HEXHUB_SCRUB_INTERVAL), measured from the last finished pass, which is remembered in
// scrub.json so a desktop app restarted daily still gets its passes.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ScrubView } from '../../src-shared/contract.js';
import type { Metrics } from '../core/metrics.js';
import { hashFile, type CacheEntry, type CacheIndex } from '../store/cache-index.js';
import { sleep } from '../upstream/backoff.js';
import { quarantineBatch, type CacheAdmin } from './cache-admin.js';

export interface ScrubSettings {
  /** Seconds between the end of one pass and the start of the next; 0 turns the scrub off. */
  intervalSeconds: number;
  bytesPerSecond: number;
}

export interface ScrubberDeps {
  dataDir: string;
  index: CacheIndex;
  admin: CacheAdmin;
  /** Fetches a quarantined object again; true if fetched, null if the kind is fetched on demand. */
  refetch(key: string, entry: CacheEntry): Promise<boolean | null>;
  settings(): ScrubSettings;
  publish(view: ScrubView): void;
  log: Logger;
  metrics: Metrics;
}

const MAX_PROBLEMS = 50;
const CHUNK = 64 * 1024;
/** The first pass after start waits at most this long (the cache may just have been filled). */
const FIRST_PASS_DELAY_MS = 60_000;

export class Scrubber {
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private state: ScrubView = { enabled: false, problems: [] };

  constructor(private readonly deps: ScrubberDeps) {}

  view(): ScrubView {
    return { ...this.state, enabled: this.deps.settings().intervalSeconds > 0, problems: [...this.state.problems] };
  }

  async start(): Promise<void> {
    const saved = await readFile(this.stateFile(), 'utf8')
      .then((text) => JSON.parse(text) as Pick<ScrubView, 'lastPass'>)
      .catch(() => ({}) as Pick<ScrubView, 'lastPass'>);
    if (saved.lastPass && typeof saved.lastPass.finishedAt === 'number') this.state.lastPass = saved.lastPass;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.pass;
  }

  private stateFile(): string {
    return join(this.deps.dataDir, 'scrub.json');
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const { intervalSeconds } = this.deps.settings();
    if (intervalSeconds <= 0 || this.stopping.signal.aborted) {
      delete this.state.nextPassAt;
      return;
    }
    const interval = intervalSeconds * 1000;
    const now = Date.now();
    const due = this.state.lastPass ? this.state.lastPass.finishedAt + interval : now + Math.min(interval, FIRST_PASS_DELAY_MS);
    this.state.nextPassAt = Math.max(due, now);
    this.timer = setTimeout(() => {
      this.pass = this.runPass()
        .then(
          () => undefined,
          (error: Error) => this.deps.log.error({ event: 'scrub_failed', error: error.message }, 'scrub pass failed'),
        )
        .finally(() => {
          this.pass = undefined;
          this.schedule();
        });
    }, this.state.nextPassAt - now);
    this.timer.unref();
  }

  /** One whole pass over what is stored now; also what tests call directly. */
  async runPass(): Promise<NonNullable<ScrubView['lastPass']>> {
    const { index, admin, log } = this.deps;
    const entries = index.all();
    const startedAt = Date.now();
    const batch = quarantineBatch();
    // Every file of this pass is read into it (a pass hashes one file at a time).
    const buffer = Buffer.allocUnsafe(CHUNK);
    let problems = 0;
    this.state.running = { checked: 0, total: entries.length, startedAt };
    this.deps.publish(this.view());
    log.info({ event: 'scrub_started', objects: entries.length }, 'scrub pass started');
    for (const [key, entry] of entries) {
      if (this.stopping.signal.aborted) break;
      // Replaced or removed since the pass began: nothing to check against.
      if (index.get(key) !== entry) continue;
      const reason = await admin.check(key, entry, (path) => this.pacedHash(path, buffer));
      this.state.running.checked++;
      if (reason === undefined || this.stopping.signal.aborted || index.get(key) !== entry) continue;
      problems++;
      this.deps.metrics.damagedObjects.inc({ kind: entry.kind, found_by: 'scrub' });
      const quarantined = await admin.quarantine(key, reason, batch);
      const problem: ScrubView['problems'][number] = { key, reason, at: Date.now(), ...(quarantined ? { quarantined } : {}), refetched: null };
      this.state.problems = [problem, ...this.state.problems].slice(0, MAX_PROBLEMS);
      log.warn({ event: 'scrub_damaged', key, reason, quarantined }, 'scrub found a damaged object; quarantined it');
      problem.refetched = await this.deps.refetch(key, entry).catch((error: Error) => {
        log.warn({ event: 'scrub_refetch_failed', key, error: error.message }, 'could not fetch a quarantined object again');
        return false;
      });
      this.deps.publish(this.view());
    }
    const lastPass = { startedAt, finishedAt: Date.now(), checked: this.state.running.checked, problems };
    delete this.state.running;
    if (!this.stopping.signal.aborted) {
      this.state.lastPass = lastPass;
      await writeFile(this.stateFile(), JSON.stringify({ lastPass }), { mode: 0o600 }).catch(() => undefined);
    }
    log.info({ event: 'scrub_finished', ...lastPass }, 'scrub pass finished');
    this.deps.publish(this.view());
    return lastPass;
  }

  /** Hashes a file no faster than the configured rate; a stop cuts it short (and the pass ignores the result). */
  private pacedHash(path: string, buffer: Buffer): Promise<{ size: number; sha256: string }> {
    const began = performance.now();
    return hashFile(path, {
      buffer,
      afterChunk: async (size) => {
        const aheadMs = (size / this.deps.settings().bytesPerSecond) * 1000 - (performance.now() - began);
        if (aheadMs > 1) await sleep(aheadMs, this.stopping.signal);
      },
    });
  }
}
