// What is cached: one entry per stored object. Reads come from memory (a Map); changes are
// written in batches (a request never waits for the index file), and the index can be rebuilt
// from the files, so losing the last batch in a crash is harmless.
//
// Why a journal (index-journal.ts) and not lowdb, which keeps the small JSON files: lowdb
// writes its whole document on every write, and at hex.pm's size (200,000 releases) the index
// is tens of MB, so each batch of a few changes rewrote all of it and held the event loop while
// serialising it. Appending the changed records keeps a batch's cost to its own size; a rewrite
// only comes once the file holds about twice what is live, so it costs about as much again as
// the appends did, on average. Hit counts are journalled as small "touch" records, lazily.
import { messageOf } from '../../src-shared/problems.js';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { BlobStore } from './blob-store.js';
import { describeKey, isValidKey, type ObjectKind } from './keys.js';
import {
  entryNamesKey,
  JournalFile,
  keyOfEntry,
  legacyIndexExists,
  line,
  readLegacyIndex,
  removeLegacyIndex,
  snapshotLines,
  type IndexRecord,
  type JournalReadReport,
} from './index-journal.js';

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

/** Evictions remembered: enough for any package list a person reads, bounded so the index stays small. */
const MAX_EVICTED_MARKS = 5000;

/** The journal is compacted once it is past twice what is live, and at least this big. */
const MIN_COMPACT_BYTES = 4 * 1024 * 1024;
/** Bytes on disk of an entry before any is measured (a tarball's is about 200). */
const DEFAULT_ENTRY_BYTES = 200;
const MARK_BYTES = 70;
/** After a compaction failed (a full disk), changes are appended and the next compaction waits this long. */
const COMPACT_RETRY_MS = 60_000;

export type IndexChange = { type: 'stored' | 'removed'; key: string; entry?: CacheEntry; previous?: CacheEntry };

/** The package a tarball key is of (Hex names have no '-', so it ends at the first one). */
function tarballPackage(key: string): string | undefined {
  if (!key.startsWith('tarballs/')) return undefined;
  const dash = key.indexOf('-', 9);
  return dash === -1 ? undefined : key.slice(9, dash);
}

export interface CacheIndexOptions {
  /** Told the bytes of each write to the index file (appends and compactions), for the metric. */
  onBytesWritten?: (bytes: number) => void;
  /** Compaction's lower bound (tests make it small). */
  minCompactBytes?: number;
}

export class CacheIndex {
  private readonly byKey = new Map<string, CacheEntry>();
  /**
   * The keys of entries whose kind, package and version do not name their key (API answers,
   * installs, the registry's names and versions): touch, annotate and markValidated are given
   * the entry. The others' keys are made from them (a WeakMap of every entry's key made each
   * garbage collection slower, and cost a third of the start-up at 200,000 entries).
   */
  private readonly otherKeys = new Map<CacheEntry, string>();
  /** Keys the size cap evicted, with when, oldest first; forgotten when stored again (see markEvicted). */
  private readonly evicted = new Map<string, number>();
  private readonly evictedByPackage = new Map<string, number>();
  private readonly journal: JournalFile;
  /**
   * What changed since the last write, in the order of each one's last change: 'e' + key (the
   * entry: stored, replaced, changed or removed) or 'm' + key (its eviction mark). Records are
   * made from the state when written, so a key changed many times is written once.
   */
  private pending = new Map<string, true>();
  /** Entries served since the last write: a touch record each (unless its entry is written anyway). */
  private touched = new Set<CacheEntry>();
  /** The file must be written whole before anything is appended (none yet, unreadable, migrated, or a compaction failed). */
  private needsRewrite = false;
  /** No compaction before then (one failed). */
  private compactRetryAt = 0;
  /** An index.json of an earlier version, removed once the journal holds what it held. */
  private legacy = false;
  private entryBytes = DEFAULT_ENTRY_BYTES;
  private loadCount = 0;
  private readonly minCompactBytes: number;
  private timer: NodeJS.Timeout | undefined;
  private flushDueAt = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(change: IndexChange) => void>();

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
    private readonly flushDelayMs = 1000,
    /** Told when the index cannot be written (a full disk), so status shows it. */
    private readonly onWriteError?: (error: Error) => void,
    options: CacheIndexOptions = {},
  ) {
    this.journal = new JournalFile(dataDir, options.onBytesWritten);
    this.minCompactBytes = options.minCompactBytes ?? MIN_COMPACT_BYTES;
  }

  /** Bytes written to the index file by this process (appends and compactions). */
  get bytesWritten(): number {
    return this.journal.bytesWritten;
  }

  /** Bytes in the index file now. */
  get fileBytes(): number {
    return this.journal.size;
  }

  /**
   * How many times the index was loaded: what was made from it before a load is out of date
   * (a load's records tell no listener). Counted once the load is done.
   */
  get loads(): number {
    return this.loadCount;
  }

  async load(): Promise<void> {
    try {
      await this.loadFile();
    } finally {
      this.loadCount++;
    }
  }

  private async loadFile(): Promise<void> {
    this.clear();
    let report: JournalReadReport | undefined;
    try {
      report = await this.journal.read({ put: (key, entry, named) => this.replayPut(key, entry, named), other: (record) => this.replay(record) });
    } catch (error) {
      // A damaged index is only a cache of what the files say; start afresh and rebuild.
      this.log.warn({ error: messageOf(error) }, 'cache index unreadable, rebuilding it from the stored files');
      this.clear();
      this.needsRewrite = true;
      this.legacy = await legacyIndexExists(this.dataDir);
      return;
    }
    if (report === undefined) return this.migrate();
    for (const [entry, key] of this.otherKeys) if (this.byKey.get(key) !== entry) this.otherKeys.delete(entry);
    // Left by a crash between writing the journal and removing it: the journal is newer.
    if (await legacyIndexExists(this.dataDir)) await this.removeLegacy();
    if (report.puts > 0) this.entryBytes = report.putBytes / report.puts;
    if (report.damaged) this.log.warn({ event: 'index_damaged', lines: report.damaged }, 'skipped damaged lines of the cache index');
    if (report.tornBytes) {
      this.log.warn({ event: 'index_torn', bytes: report.tornBytes }, 'the cache index ends in a torn line (a crash while writing it); ignored it');
      if (!(await this.journal.cutTail(report.goodBytes))) this.needsRewrite = true;
    } else {
      this.journal.size = report.goodBytes;
    }
  }

  /** No journal yet: the index.json of an earlier version, if any, becomes it (at the first write). */
  private async migrate(): Promise<void> {
    this.needsRewrite = true;
    try {
      const legacy = await readLegacyIndex(this.dataDir);
      if (!legacy) return;
      this.legacy = true;
      for (const [key, entry] of legacy.entries) this.replay({ type: 'put', key, entry });
      for (const [key, at] of legacy.evicted) this.replay({ type: 'evict', key, at });
      this.log.info({ event: 'index_migrated', entries: this.byKey.size }, 'read the index.json of an earlier version; it becomes index.jsonl');
    } catch (error) {
      this.log.warn({ error: messageOf(error) }, 'cache index unreadable, rebuilding it from the stored files');
      this.clear();
      this.legacy = true;
    }
  }

  private clear(): void {
    this.byKey.clear();
    this.otherKeys.clear();
    this.evicted.clear();
    this.evictedByPackage.clear();
    this.pending.clear();
    this.touched.clear();
  }

  /** A put record of the file, applied without telling anyone or writing anything; `named` as IndexRecord's. */
  private replayPut(key: string, entry: CacheEntry, named: boolean): void {
    // No lookup of what it replaces (the other keys are swept once read: see loadFile).
    this.byKey.set(key, entry);
    if (!named) this.otherKeys.set(entry, key);
    if (this.evicted.size) this.unmark(key);
  }

  /** One record of the file, applied without telling anyone or writing anything. */
  private replay(record: IndexRecord): void {
    switch (record.type) {
      case 'put':
        this.replayPut(record.key, record.entry, record.named ?? entryNamesKey(record.entry, record.key));
        break;
      case 'remove':
        this.byKey.delete(record.key);
        break;
      case 'evict':
        this.mark(record.key, record.at);
        break;
      case 'touch': {
        const entry = this.byKey.get(record.key);
        if (entry) {
          entry.hits = record.hits;
          entry.lastUsedAt = record.lastUsedAt;
        }
      }
    }
  }

  private set(key: string, entry: CacheEntry): CacheEntry | undefined {
    const previous = this.byKey.get(key);
    if (previous) this.otherKeys.delete(previous);
    this.byKey.set(key, entry);
    if (!entryNamesKey(entry, key)) this.otherKeys.set(entry, key);
    return previous;
  }

  private unset(key: string): CacheEntry | undefined {
    const previous = this.byKey.get(key);
    if (!previous) return undefined;
    this.byKey.delete(key);
    this.otherKeys.delete(previous);
    return previous;
  }

  /** The key `entry` is indexed under, if it is (still) indexed. */
  private keyOf(entry: CacheEntry): string | undefined {
    const made = keyOfEntry(entry);
    if (made !== undefined && this.byKey.get(made) === entry) return made;
    const other = this.otherKeys.get(entry);
    return other !== undefined && this.byKey.get(other) === entry ? other : undefined;
  }

  get(key: string): CacheEntry | undefined {
    return this.byKey.get(key);
  }

  all(): [string, CacheEntry][] {
    return Array.from(this.byKey);
  }

  /** Every entry, without the array all() makes: for a pass over all of them (at 200,000 entries that array was ~10 MB kept for good). */
  each(): IterableIterator<[string, CacheEntry]> {
    return this.byKey.entries();
  }

  get size(): number {
    return this.byKey.size;
  }

  onChange(listener: (change: IndexChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  put(key: string, entry: CacheEntry): void {
    const previous = this.set(key, entry);
    this.unmark(key);
    this.changed('e' + key);
    for (const listener of this.listeners) listener({ type: 'stored', key, entry, ...(previous ? { previous } : {}) });
  }

  delete(key: string): void {
    const previous = this.unset(key);
    if (!previous) return;
    this.changed('e' + key);
    for (const listener of this.listeners) listener({ type: 'removed', key, previous });
  }

  /**
   * A served hit: counted in memory and persisted lazily. Hits are frequent and losing a
   * few counts in a crash is harmless, so they are written at most every 30 s or so, as one
   * small record per entry served, whatever the hits.
   */
  touch(entry: CacheEntry): void {
    entry.hits += 1;
    entry.lastUsedAt = Date.now();
    this.touched.add(entry);
    this.scheduleFlush(this.flushDelayMs * 30);
  }

  /**
   * Remembers that the size cap evicted `key`, so its release reads "evicted" rather than
   * "never fetched" or a failure. Call after deleting it; storing it again forgets the mark.
   */
  markEvicted(key: string, at = Date.now()): void {
    this.mark(key, at);
    this.changed('m' + key);
  }

  private mark(key: string, at: number): void {
    // Re-inserted, so the oldest marks come first and are the ones dropped over the bound.
    this.unmark(key);
    this.evicted.set(key, at);
    const name = tarballPackage(key);
    if (name !== undefined) this.evictedByPackage.set(name, (this.evictedByPackage.get(name) ?? 0) + 1);
    while (this.evicted.size > MAX_EVICTED_MARKS) this.unmark(this.evicted.keys().next().value!);
  }

  private unmark(key: string): void {
    if (!this.evicted.delete(key)) return;
    const name = tarballPackage(key);
    if (name === undefined) return;
    const left = (this.evictedByPackage.get(name) ?? 1) - 1;
    if (left > 0) this.evictedByPackage.set(name, left);
    else this.evictedByPackage.delete(name);
  }

  /** When the size cap evicted `key`, if it did and it was not stored since. */
  evictedAt(key: string): number | undefined {
    return this.evicted.get(key);
  }

  /** How many of `name`'s tarballs the size cap evicted and nothing stored again. */
  evictedCount(name: string): number {
    return this.evictedByPackage.get(name) ?? 0;
  }

  /** Records what a stored copy was (re-)verified under, without it counting as a change of the object. */
  annotate(entry: CacheEntry, changes: Pick<CacheEntry, 'trust'>): void {
    Object.assign(entry, changes);
    this.changedEntry(entry);
  }

  markValidated(entry: CacheEntry): void {
    entry.validatedAt = Date.now();
    this.changedEntry(entry);
  }

  /** An entry changed in place: written whole, if it is (still) the one indexed under its key. */
  private changedEntry(entry: CacheEntry): void {
    const key = this.keyOf(entry);
    if (key !== undefined) this.changed('e' + key);
  }

  private changed(item: string): void {
    // Moved to the end: records are written in the order of each one's last change.
    this.pending.delete(item);
    this.pending.set(item, true);
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

  /**
   * Writes what changed now: appended to the journal, or the whole index when the journal is
   * due for compaction. A failed write keeps everything in memory and is tried again.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writing = this.writing
      .then(() => this.write())
      .catch((error: Error) => {
        this.log.error({ event: 'index_write_failed', error: error.message }, 'could not write the cache index');
        this.onWriteError?.(error);
        this.scheduleFlush(this.flushDelayMs * 5);
      });
    return this.writing;
  }

  private async write(): Promise<void> {
    const liveBytes = this.byKey.size * this.entryBytes + this.evicted.size * MARK_BYTES;
    const due = this.journal.size > Math.max(this.minCompactBytes, 2 * liveBytes) && Date.now() >= this.compactRetryAt;
    if (this.needsRewrite || due) return this.compact();
    if (this.pending.size === 0 && this.touched.size === 0) return;
    const { items, touched } = this.take();
    try {
      await this.journal.append(this.records(items, touched));
    } catch (error) {
      this.putBack(items, touched);
      // The file went away behind our back: it is written whole again.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') this.needsRewrite = true;
      throw error;
    }
  }

  /** What changed so far, for one write; what changes meanwhile is collected afresh. */
  private take(): { items: Map<string, true>; touched: Set<CacheEntry> } {
    const taken = { items: this.pending, touched: this.touched };
    this.pending = new Map();
    this.touched = new Set();
    return taken;
  }

  /** A write failed: what it took is written next time, before whatever changed meanwhile (in order). */
  private putBack(items: Map<string, true>, touched: Set<CacheEntry>): void {
    for (const item of this.pending.keys()) {
      items.delete(item);
      items.set(item, true);
    }
    for (const entry of this.touched) touched.add(entry);
    this.pending = items;
    this.touched = touched;
  }

  /** The lines for what changed, made from the state now; then the touches of entries not written whole. */
  private records(items: Map<string, true>, touched: Set<CacheEntry>): string {
    let text = '';
    for (const item of items.keys()) {
      const key = item.slice(1);
      if (item[0] === 'e') {
        const entry = this.byKey.get(key);
        text += entry ? line.put(key, entry) : line.remove(key);
      } else {
        const at = this.evicted.get(key);
        // A mark gone since (stored again, or over the bound) is forgotten by replaying the same way.
        if (at !== undefined) text += line.evict(key, at);
      }
    }
    for (const entry of touched) {
      const key = this.keyOf(entry);
      if (key === undefined || items.has('e' + key)) continue;
      text += line.touch(key, entry);
    }
    return text;
  }

  /**
   * Rewrites the file with what is live. The maps are read as the rewrite goes (no copy of
   * 200,000 entries held meanwhile): whatever changes during it is also collected afresh and
   * appended after it, and replaying a record twice changes nothing.
   */
  private async compact(): Promise<void> {
    const { items, touched } = this.take();
    const required = this.needsRewrite;
    this.needsRewrite = false;
    const before = this.journal.size;
    try {
      await this.journal.rewrite(snapshotLines(this.byKey, this.evicted));
    } catch (error) {
      // The old file is whole: appended to it, what changed is written next time; a file that
      // cannot be appended to is tried whole again.
      this.putBack(items, touched);
      if (required) this.needsRewrite = true;
      else this.compactRetryAt = Date.now() + COMPACT_RETRY_MS;
      throw error;
    }
    const records = this.byKey.size + this.evicted.size;
    if (records > 0) this.entryBytes = this.journal.size / records;
    this.log.info({ event: 'index_compacted', entries: this.byKey.size, bytesBefore: before, bytes: this.journal.size }, 'cache index rewritten');
    if (this.legacy) await this.removeLegacy();
  }

  private async removeLegacy(): Promise<void> {
    await removeLegacyIndex(this.dataDir).catch((error: Error) =>
      this.log.warn({ error: error.message }, 'could not remove the index.json of an earlier version (index.jsonl replaces it)'),
    );
    this.legacy = false;
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
    // Deleting the entry a Map iteration is at is safe; one stored meanwhile is visited too (and is there).
    for (const key of this.byKey.keys()) {
      if (!isValidKey(key) || (await store.size(key)) === undefined) {
        this.delete(key);
        dropped++;
      }
    }
    for await (const key of store.list()) {
      if (this.byKey.has(key)) continue;
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

/**
 * Size and SHA-256 of a file; `afterChunk` (the scrub's pacing) runs after each chunk is hashed.
 * Read into one buffer (`buffer`, if the caller reuses one across files): a read stream
 * allocates a buffer per chunk, and a scrub pass through a 600 MiB cache left that much garbage
 * for the collector, some tens of MiB of the mirror's resident memory at any moment while it served.
 */
export async function hashFile(
  path: string,
  options: { buffer?: Buffer; afterChunk?: (bytesSoFar: number) => Promise<void> } = {},
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  const buffer = options.buffer ?? Buffer.allocUnsafe(64 * 1024);
  let size = 0;
  const file = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
      await options.afterChunk?.(size);
    }
  } finally {
    await file.close();
  }
  return { size, sha256: hash.digest('hex') };
}
