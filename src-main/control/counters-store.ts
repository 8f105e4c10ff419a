// The dashboard's counters (core/usage-counters.ts) kept in the data dir, so a restart does
// not silently start them from zero: they count from `since` (the first start, or the last
// reset). Written at most every WRITE_DELAY_MS and on a clean stop, so a killed process loses
// only those last seconds; a damaged file starts them afresh, with a log line. Changes are
// published at most every PUBLISH_MS: a busy mirror changes them on every chunk.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Counters } from '../../src-shared/contract.js';
import { messageOf } from '../../src-shared/problems.js';
import { PrivateJSONFile } from '../core/private-files.js';
import { freshCounters, type UsageCounters } from '../core/usage-counters.js';

export const COUNTERS_FILE = 'counters.json';

function isCounters(value: unknown): value is Counters {
  if (typeof value !== 'object' || value === null) return false;
  const fields = freshCounters(0);
  return Object.keys(fields).every((name) => {
    const n = (value as Record<string, unknown>)[name];
    return typeof n === 'number' && Number.isFinite(n) && n >= 0;
  });
}

export interface CountersStoreOptions {
  writeDelayMs?: number;
  publishMs?: number;
}

export class CountersStore {
  private readonly file: PrivateJSONFile<Counters>;
  private readonly writeDelayMs: number;
  private readonly publishMs: number;
  /** open: read, and written as counts change; closed: a stop flushed it (the data dir may have another owner next). */
  private state: 'new' | 'open' | 'closed' = 'new';
  private writeTimer: NodeJS.Timeout | undefined;
  private publishTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly usage: UsageCounters,
    private readonly log: Logger,
    private readonly publish: (counters: Counters) => void,
    options: CountersStoreOptions = {},
  ) {
    this.file = new PrivateJSONFile<Counters>(join(dataDir, COUNTERS_FILE));
    this.writeDelayMs = options.writeDelayMs ?? 2000;
    this.publishMs = options.publishMs ?? 500;
    usage.onChange(() => {
      this.schedulePublish();
      this.scheduleWrite();
    });
  }

  /** Takes over the counts kept in the data dir (or starts them, `since` now). */
  async load(): Promise<void> {
    // Opened again by the same engine: what it counts in memory is the truth.
    if (this.state !== 'new') {
      this.state = 'open';
      return this.write();
    }
    let saved: Counters | undefined;
    try {
      const read = await this.file.read();
      if (read !== null && !isCounters(read)) throw new Error('not a set of counters');
      saved = read ?? undefined;
    } catch (error) {
      this.log.warn({ event: 'counters_damaged', error: messageOf(error) }, 'the saved counters are damaged; counting afresh from now');
    }
    if (saved) this.usage.restore({ ...freshCounters(saved.since), ...saved });
    else this.usage.restore(freshCounters(Date.now()));
    this.state = 'open';
    // Written at once, so `since` is kept even if nothing is counted before a kill.
    await this.write();
  }

  async reset(): Promise<Counters> {
    const counters = this.usage.reset();
    this.log.info({ event: 'counters_reset' }, 'counters reset');
    clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    this.publish(counters);
    await this.write();
    return counters;
  }

  /** Writes what is pending now, and nothing after (a clean stop). */
  async flush(): Promise<void> {
    clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    if (this.writeTimer) await this.write();
    await this.writing;
    if (this.state === 'open') this.state = 'closed';
  }

  private schedulePublish(): void {
    if (this.publishTimer) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      this.publish(this.usage.view());
    }, this.publishMs);
    this.publishTimer.unref();
  }

  private scheduleWrite(): void {
    if (this.state !== 'open' || this.writeTimer) return;
    this.writeTimer = setTimeout(() => void this.write(), this.writeDelayMs);
    this.writeTimer.unref();
  }

  private write(): Promise<void> {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    if (this.state !== 'open') return this.writing;
    this.writing = this.writing
      .then(() => this.file.write(this.usage.view()))
      .catch((error: unknown) => this.log.warn({ event: 'counters_write_failed', error: messageOf(error) }, 'could not save the counters'));
    return this.writing;
  }
}
