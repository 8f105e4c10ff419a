// What the mirror did, kept in the data dir so the dashboard can show what a build fetched
// before its window opened, and across restarts: each finished download, each removal by the
// user and each eviction by the size cap. Bounded (the newest LIMIT entries). The file is
// JSON lines, appended as entries come and rewritten (compacted) once it holds twice the
// bound; a process killed mid-append leaves a torn last line, which is skipped on load.
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ActivityEntry, ObjectKind } from '../../src-shared/contract.js';
import { messageOf } from '../../src-shared/problems.js';
import { QueryError } from '../core/validation-errors.js';

export const ACTIVITY_FILE = 'activity.jsonl';
/** Entries kept, and the most one listing returns. */
export const ACTIVITY_LIMIT = 1000;
/** Entries listed when no limit is asked for. */
const DEFAULT_LISTING = 100;

const OUTCOMES = new Set(['stored', 'passed', 'failed', 'evicted', 'removed']);
const SOURCES = new Set(['client', 'prewarm', 'user', 'cap']);

function isEntry(value: unknown): value is ActivityEntry {
  const e = value as Partial<ActivityEntry> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    Number.isInteger(e.id) &&
    typeof e.at === 'number' &&
    typeof e.key === 'string' &&
    typeof e.kind === 'string' &&
    OUTCOMES.has(e.outcome as string) &&
    SOURCES.has(e.source as string) &&
    typeof e.bytes === 'number'
  );
}

export type NewActivity = Omit<ActivityEntry, 'id' | 'at'> & { at?: number; kind: ObjectKind };

export class ActivityLog {
  /** Oldest first. */
  private entries: ActivityEntry[] = [];
  private nextId = 1;
  private readonly file: string;
  /** Lines in the file, to know when to compact it. */
  private lines = 0;
  /** While the file is open (read, and not yet flushed by a stop), entries are appended to it. */
  private loaded = false;
  /** Recorded while the file was not open: written after what it holds, at the next load. */
  private unsaved: ActivityEntry[] = [];
  private queued: ActivityEntry[] = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(entry: ActivityEntry) => void>();

  constructor(
    dataDir: string,
    private readonly log: Logger,
    private readonly limit = ACTIVITY_LIMIT,
  ) {
    this.file = join(dataDir, ACTIVITY_FILE);
  }

  /** Reads the kept entries; a damaged line is skipped, a damaged file never stops the mirror. */
  async load(): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ event: 'activity_unreadable', error: messageOf(error) }, 'activity log unreadable; starting a new one');
    }
    const read: ActivityEntry[] = [];
    let damaged = 0;
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    for (const line of lines) {
      try {
        const entry: unknown = JSON.parse(line);
        if (isEntry(entry)) read.push(entry);
        else damaged++;
      } catch {
        damaged++;
      }
    }
    if (damaged) this.log.warn({ event: 'activity_damaged', lines: damaged }, 'skipped damaged lines of the activity log');
    const early = this.unsaved;
    this.unsaved = [];
    this.entries = read.slice(-this.limit);
    this.nextId = Math.max(0, ...this.entries.map((e) => e.id)) + 1;
    // Recorded while the file was not open (none, in the engine's order of things): renumbered after it.
    for (const entry of early) this.entries.push({ ...entry, id: this.nextId++ });
    this.entries = this.entries.slice(-this.limit);
    this.lines = lines.length;
    this.loaded = true;
    this.queued = [];
    // A torn or damaged line would glue itself to the next append: start the file afresh.
    if (damaged || early.length || (text !== '' && !text.endsWith('\n'))) this.enqueue(() => this.compact());
  }

  record(activity: NewActivity): ActivityEntry {
    const { at, ...rest } = activity;
    const entry: ActivityEntry = { id: this.nextId++, at: at ?? Date.now(), ...rest };
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    if (!this.loaded) this.unsaved.push(entry);
    else {
      this.queued.push(entry);
      if (this.queued.length === 1) this.enqueue(() => this.append());
    }
    for (const listener of this.listeners) listener(entry);
    return entry;
  }

  /** Newest first; `limit` from 1 to ACTIVITY_LIMIT. */
  list(limit: number = DEFAULT_LISTING): ActivityEntry[] {
    if (!Number.isInteger(limit) || limit < 1 || limit > ACTIVITY_LIMIT) throw new QueryError({ limit: `must be a whole number from 1 to ${ACTIVITY_LIMIT}` });
    return this.entries.slice(-limit).reverse();
  }

  onEntry(listener: (entry: ActivityEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Writes what is recorded so far and closes the file (a stop: the data dir may have another
   * owner next); anything recorded later waits for the next load.
   */
  async flush(): Promise<void> {
    await this.writing;
    this.loaded = false;
  }

  private enqueue(write: () => Promise<void>): void {
    this.writing = this.writing.then(write).catch((error: unknown) => {
      // The log is a convenience: a full disk loses entries, never a request.
      this.log.warn({ event: 'activity_write_failed', error: messageOf(error) }, 'could not write the activity log');
    });
  }

  private async append(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    if (this.lines + batch.length > this.limit * 2) return this.compact();
    await appendFile(this.file, batch.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
    this.lines += batch.length;
  }

  /** Rewrites the file with the entries kept, atomically (a kill leaves the old file or the new one). */
  private async compact(): Promise<void> {
    this.queued = [];
    const temp = `${this.file}.tmp`;
    await writeFile(temp, this.entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
    await rename(temp, this.file);
    this.lines = this.entries.length;
  }
}
