// What is cached: one entry per stored object, kept in lowdb. Reads come from memory;
// changes are written in batches (a request never waits for the index file), and the
// index can be rebuilt from the files, so losing the last batch in a crash is harmless.
import { messageOf } from '../../src-shared/problems.js';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Low } from 'lowdb';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BlobStore } from './blob-store.js';
import { describeKey, isValidKey, type ObjectKind } from './keys.js';
import { PrivateJSONFile } from '../core/private-files.js';

export interface CacheEntry {
  kind: ObjectKind;
  package?: string;
  version?: string;
  size: number;
  /** SHA-256 of the stored bytes, lowercase hex; the ETag clients see derives from it. */
  sha256: string;
  /** The ETag clients see, where it is not `"<sha256>"` (docs keep the upstream's). */
  etag?: string;
  /** The upstream's ETag, for conditional revalidation. */
  upstreamEtag?: string;
  /** The upstream's Content-Type, parameters included, where clients see it (API answers). */
  contentType?: string;
  /** The upstream's Last-Modified and x-hex-message (which Hex prints), kept with API answers. */
  lastModified?: string;
  hexMessage?: string;
  /**
   * What the copy was verified under: the upstream signing key's fingerprint (registry
   * records, tarballs) or the upstream it came from (docs, API answers, installs, the public
   * key). Absent in entries from before it was recorded.
   */
  trust?: string;
  fetchedAt: number;
  /** When the upstream last confirmed this copy (mutable resources). */
  validatedAt: number;
  lastUsedAt: number;
  hits: number;
}

interface IndexData {
  schema: 1;
  entries: Record<string, CacheEntry>;
  /** Keys the size cap evicted, with when, oldest first; forgotten when stored again (see markEvicted). */
  evicted?: Record<string, number>;
}

/** Evictions remembered: enough for any package list a person reads, bounded so the index stays small. */
const MAX_EVICTED_MARKS = 5000;

export type IndexChange = { type: 'stored' | 'removed'; key: string; entry?: CacheEntry; previous?: CacheEntry };

export class CacheIndex {
  private readonly db: Low<IndexData>;
  private timer: NodeJS.Timeout | undefined;
  private flushDueAt = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(change: IndexChange) => void>();

  constructor(
    dataDir: string,
    private readonly log: Logger,
    private readonly flushDelayMs = 1000,
    /** Told when the index cannot be written (a full disk), so status shows it. */
    private readonly onWriteError?: (error: Error) => void,
  ) {
    this.db = new Low<IndexData>(new PrivateJSONFile<IndexData>(join(dataDir, 'index.json')), { schema: 1, entries: {} });
  }

  async load(): Promise<void> {
    try {
      await this.db.read();
    } catch (error) {
      // A damaged index is only a cache of what the files say; start afresh and rebuild.
      this.log.warn({ error: messageOf(error) }, 'cache index unreadable, rebuilding it from the stored files');
      this.db.data = { schema: 1, entries: {} };
    }
    if (!this.db.data || typeof this.db.data.entries !== 'object') this.db.data = { schema: 1, entries: {} };
    if (this.db.data.evicted !== undefined && (typeof this.db.data.evicted !== 'object' || this.db.data.evicted === null)) delete this.db.data.evicted;
  }

  private get entries(): Record<string, CacheEntry> {
    return this.db.data.entries;
  }

  get(key: string): CacheEntry | undefined {
    return Object.hasOwn(this.entries, key) ? this.entries[key] : undefined;
  }

  all(): [string, CacheEntry][] {
    return Object.entries(this.entries);
  }

  get size(): number {
    return Object.keys(this.entries).length;
  }

  onChange(listener: (change: IndexChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  put(key: string, entry: CacheEntry): void {
    const previous = this.get(key);
    this.entries[key] = entry;
    if (this.db.data.evicted && Object.hasOwn(this.db.data.evicted, key)) delete this.db.data.evicted[key];
    this.scheduleFlush(this.flushDelayMs);
    for (const listener of this.listeners) listener({ type: 'stored', key, entry, ...(previous ? { previous } : {}) });
  }

  delete(key: string): void {
    const previous = this.get(key);
    if (!previous) return;
    delete this.entries[key];
    this.scheduleFlush(this.flushDelayMs);
    for (const listener of this.listeners) listener({ type: 'removed', key, previous });
  }

  /**
   * A served hit: counted in memory and persisted lazily. Hits are frequent and losing a
   * few counts in a crash is harmless, so they do not make the whole index be rewritten
   * every second under load.
   */
  touch(entry: CacheEntry): void {
    entry.hits += 1;
    entry.lastUsedAt = Date.now();
    this.scheduleFlush(this.flushDelayMs * 30);
  }

  /**
   * Remembers that the size cap evicted `key`, so its release reads "evicted" rather than
   * "never fetched" or a failure. Call after deleting it; storing it again forgets the mark.
   */
  markEvicted(key: string, at = Date.now()): void {
    const marks = (this.db.data.evicted ??= {});
    // Re-inserted, so the oldest marks come first and are the ones dropped over the bound.
    delete marks[key];
    marks[key] = at;
    const all = Object.keys(marks);
    for (const old of all.slice(0, Math.max(0, all.length - MAX_EVICTED_MARKS))) delete marks[old];
    this.scheduleFlush(this.flushDelayMs);
  }

  /** When the size cap evicted `key`, if it did and it was not stored since. */
  evictedAt(key: string): number | undefined {
    const marks = this.db.data.evicted;
    return marks && Object.hasOwn(marks, key) ? marks[key] : undefined;
  }

  /** How many of `name`'s tarballs the size cap evicted and nothing stored again (Hex names have no '-', so the prefix is the package's own). */
  evictedCount(name: string): number {
    const prefix = `tarballs/${name}-`;
    let count = 0;
    for (const key of Object.keys(this.db.data.evicted ?? {})) if (key.startsWith(prefix)) count++;
    return count;
  }

  /** Records what a stored copy was (re-)verified under, without it counting as a change of the object. */
  annotate(entry: CacheEntry, changes: Pick<CacheEntry, 'trust'>): void {
    Object.assign(entry, changes);
    this.scheduleFlush(this.flushDelayMs);
  }

  markValidated(entry: CacheEntry): void {
    entry.validatedAt = Date.now();
    this.scheduleFlush(this.flushDelayMs);
  }

  private scheduleFlush(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.timer && this.flushDueAt <= due) return;
    clearTimeout(this.timer);
    this.flushDueAt = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  /** Writes the index now (lowdb writes a temporary file and renames it, so a crash keeps the old one). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writing = this.writing
      .then(() => this.db.write())
      .catch((error: Error) => {
        // The previous index.json stays whole (lowdb renames a finished temporary file into
        // place); the entries stay in memory and the write is tried again.
        this.log.error({ event: 'index_write_failed', error: error.message }, 'could not write the cache index');
        this.onWriteError?.(error);
        this.scheduleFlush(this.flushDelayMs * 5);
      });
    return this.writing;
  }

  /**
   * Makes the index agree with the files: drops entries whose file is gone, and indexes
   * files that a crash left unrecorded (they were only renamed into place after
   * verification, so they are whole). A file of the wrong size is left for `verify` to
   * report; serving never uses it (it checks the size) but fetches it again.
   */
  async reconcile(store: BlobStore): Promise<{ dropped: number; adopted: number }> {
    let dropped = 0;
    let adopted = 0;
    for (const [key] of this.all()) {
      if (!isValidKey(key) || (await store.size(key)) === undefined) {
        this.delete(key);
        dropped++;
      }
    }
    for await (const key of store.list()) {
      if (this.get(key)) continue;
      if (!isValidKey(key)) {
        await store.remove(key);
        continue;
      }
      const { size, sha256 } = await hashFile(store.path(key));
      const info = describeKey(key);
      const now = Date.now();
      this.put(key, { ...info, size, sha256, fetchedAt: now, validatedAt: 0, lastUsedAt: now, hits: 0 });
      adopted++;
    }
    if (dropped || adopted) {
      this.log.info({ event: 'index_reconciled', dropped, adopted }, 'cache index reconciled with stored files');
      await this.flush();
    }
    return { dropped, adopted };
  }
}

/** Size and SHA-256 of a file; `afterChunk` (the scrub's pacing) runs after each chunk is hashed. */
export async function hashFile(
  path: string,
  options: { chunkBytes?: number; afterChunk?: (bytesSoFar: number) => Promise<void> } = {},
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: options.chunkBytes }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    await options.afterChunk?.(size);
  }
  return { size, sha256: hash.digest('hex') };
}
