// The cache index's file, `index.jsonl` in the data dir: JSON lines, appended in batches and
// rewritten whole (compacted) now and then. This module knows the bytes on disk; what the
// records mean, and when to compact, is cache-index.ts's.
//
//   {"format":"hexhub-index","version":1}                 the header, always line 1
//   ["put",KEY,SIZE,SHA256,FETCHED_AT,VALIDATED_AT,LAST_USED_AT,HITS,TRUST,MORE?]
//                                                         stored or replaced (also annotate, markValidated); TRUST is a
//                                                         string or null; MORE, an object of the entry's other fields
//                                                         (etag, upstreamEtag, contentType, lastModified, hexMessage), if any
//   ["remove",KEY]                                        dropped from the index
//   ["evict",KEY,AT]                                      the size cap evicted it (a mark; a later put forgets it)
//   ["touch",KEY,HITS,LAST_USED_AT]                       served: the entry's counts now (absolute: replaying twice is harmless)
//
// Replaying the lines in order gives the state. An entry's kind, package and version are its
// key's (every entry is made from describeKey(key)); MORE carries them only where they are not.
// Arrays, not objects: at 200,000 entries, property names made the file 60 % bigger and its
// parsing at start-up 40 % slower.
//
// Appends write whole lines at the end of what is known good; a failed append is cut back off
// (truncate), so earlier lines are never damaged and the retry starts on a clean line. A crash
// mid-append leaves a torn last line (no newline), which load ignores and cuts off. Compaction
// writes a temporary file (0600), syncs it and renames it into place, so a crash keeps the old
// file whole.
import { open, readFile, rename, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheEntry } from './cache-index.js';
import { parseKey } from '../../src-shared/keys.js';
import type { ObjectKind } from './keys.js';

export const INDEX_FILE = 'index.jsonl';
/** The index before the journal (lowdb, `{schema: 1, entries, evicted?}`): read once to migrate, then removed. */
export const LEGACY_INDEX_FILE = 'index.json';
export const INDEX_FORMAT = 'hexhub-index';
export const INDEX_VERSION = 1;

export type IndexRecord =
  /** `named`: the entry's kind, package and version are the key's, and name it (entryNamesKey), as read. */
  | { type: 'put'; key: string; entry: CacheEntry; named?: boolean }
  | { type: 'remove'; key: string }
  | { type: 'evict'; key: string; at: number }
  | { type: 'touch'; key: string; hits: number; lastUsedAt: number };

export const HEADER_LINE = `${JSON.stringify({ format: INDEX_FORMAT, version: INDEX_VERSION })}\n`;

/** What a key says of its object, fast for the keys there are many of (no validation: reconcile drops invalid keys). */
export function keyInfo(key: string): { kind: ObjectKind; package?: string; version?: string } | undefined {
  if (key.startsWith('tarballs/') && key.endsWith('.tar')) {
    const dash = key.indexOf('-', 9);
    if (dash > 9) return { kind: 'tarball', package: key.slice(9, dash), version: key.slice(dash + 1, -4) };
  } else if (key.startsWith('registry/packages/')) {
    if (key.length > 18) return { kind: 'registry', package: key.slice(18) };
  } else if (key.startsWith('docs/') && key.endsWith('.tar.gz')) {
    const dash = key.indexOf('-', 5);
    if (dash > 5) return { kind: 'docs', package: key.slice(5, dash), version: key.slice(dash + 1, -7) };
  }
  return parseKey(key);
}

/** The key an entry's kind, package and version name, where they name one (tarballs, docs, package records). */
export function keyOfEntry(entry: CacheEntry): string | undefined {
  const { kind, package: name, version } = entry;
  if (name === undefined) return undefined;
  if (kind === 'tarball') return version === undefined ? undefined : `tarballs/${name}-${version}.tar`;
  if (kind === 'registry') return version === undefined ? `registry/packages/${name}` : undefined;
  if (kind === 'docs') return version === undefined ? undefined : `docs/${name}-${version}.tar.gz`;
  return undefined;
}

/** Whether keyOfEntry(entry) is `key`, without making the string (for every entry read). */
export function entryNamesKey(entry: CacheEntry, key: string): boolean {
  const { kind, package: name, version } = entry;
  if (name === undefined) return false;
  if (kind === 'registry') return version === undefined && key.length === 18 + name.length && key.startsWith('registry/packages/') && key.endsWith(name);
  let prefix: string;
  let suffix: string;
  if (kind === 'tarball') [prefix, suffix] = ['tarballs/', '.tar'];
  else if (kind === 'docs') [prefix, suffix] = ['docs/', '.tar.gz'];
  else return false;
  if (version === undefined || key.length !== prefix.length + name.length + 1 + version.length + suffix.length) return false;
  const dash = prefix.length + name.length;
  return key.startsWith(prefix) && key.startsWith(name, prefix.length) && key[dash] === '-' && key.startsWith(version, dash + 1) && key.endsWith(suffix);
}

/** Fields in a put record's fixed places, or (kind, package, version) named by its key. */
const FIXED = new Set(['size', 'sha256', 'fetchedAt', 'validatedAt', 'lastUsedAt', 'hits', 'trust', 'kind', 'package', 'version']);

export const line = {
  put(key: string, entry: CacheEntry): string {
    // Entries are made from describeKey(key): only one that is not says what it is.
    let more: Record<string, unknown> | undefined = entryNamesKey(entry, key)
      ? undefined
      : { kind: entry.kind, package: entry.package, version: entry.version };
    for (const field in entry) {
      if (FIXED.has(field)) continue;
      const value = entry[field as keyof CacheEntry];
      if (value !== undefined) (more ??= {})[field] = value;
    }
    const fixed = [key, entry.size, entry.sha256, entry.fetchedAt, entry.validatedAt, entry.lastUsedAt, entry.hits, entry.trust ?? null];
    return `["put",${JSON.stringify(more ? [...fixed, more] : fixed).slice(1)}\n`;
  },
  remove: (key: string) => `["remove",${JSON.stringify(key)}]\n`,
  evict: (key: string, at: number) => `["evict",${JSON.stringify(key)},${JSON.stringify(at)}]\n`,
  touch: (key: string, entry: Pick<CacheEntry, 'hits' | 'lastUsedAt'>) => `["touch",${JSON.stringify([key, entry.hits, entry.lastUsedAt]).slice(1)}\n`,
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Enough of an entry to serve from and list (the rest is optional, or filled in by use). */
export function isEntry(value: unknown): value is CacheEntry {
  return isObject(value) && typeof value.kind === 'string' && typeof value.size === 'number' && typeof value.sha256 === 'string';
}

/**
 * Strings many entries share (package names, versions, the signing key's fingerprint), kept
 * once while an index is read: a copy per entry was about 15 % of the index's memory.
 */
export class Interner {
  private readonly seen = new Map<string, string>();

  get(value: string): string {
    const known = this.seen.get(value);
    if (known !== undefined) return known;
    this.seen.set(value, value);
    return value;
  }
}

/** The entry of a put record's fields (`fields[at]` is the key). */
function entryOf(fields: unknown[], at: number, strings: Interner): { entry: CacheEntry; named: boolean } | undefined {
  const key = fields[at] as string;
  const size = fields[at + 1];
  const sha256 = fields[at + 2];
  const fetchedAt = fields[at + 3];
  const validatedAt = fields[at + 4];
  const lastUsedAt = fields[at + 5];
  const hits = fields[at + 6];
  const trust = fields[at + 7];
  const more = fields[at + 8];
  if (typeof size !== 'number' || typeof sha256 !== 'string' || typeof fetchedAt !== 'number' || typeof validatedAt !== 'number') return undefined;
  if (typeof lastUsedAt !== 'number' || typeof hits !== 'number' || (trust !== null && typeof trust !== 'string')) return undefined;
  if (more !== undefined && !isObject(more)) return undefined;
  const info = typeof more?.kind === 'string' ? (more as { kind: ObjectKind; package?: unknown; version?: unknown }) : keyInfo(key);
  if (!info) return undefined;
  const name = typeof info.package === 'string' ? strings.get(info.package) : undefined;
  const version = typeof info.version === 'string' ? strings.get(info.version) : undefined;
  let entry: CacheEntry;
  if (name !== undefined && version !== undefined && trust !== null) {
    // Most entries (tarballs, docs): every field in one literal, so they share one compact shape.
    entry = { kind: info.kind, package: name, version, size, sha256, trust: strings.get(trust), fetchedAt, validatedAt, lastUsedAt, hits };
  } else {
    entry = { kind: info.kind, size, sha256, fetchedAt, validatedAt, lastUsedAt, hits };
    if (name !== undefined) entry.package = name;
    if (version !== undefined) entry.version = version;
    if (trust !== null) entry.trust = strings.get(trust);
  }
  if (more) {
    const other = entry as unknown as Record<string, unknown>;
    for (const field of Object.keys(more)) if (!FIXED.has(field) && field !== '__proto__') other[field] = more[field];
  }
  const fromKey = more === undefined || typeof more.kind !== 'string';
  const releaseKind = info.kind === 'tarball' || info.kind === 'docs';
  const named = fromKey && name !== undefined && (releaseKind ? version !== undefined : info.kind === 'registry' && version === undefined);
  return { entry, named };
}

/** A record of the journal, or undefined for anything else (a damaged line). */
export function parseRecord(text: string, strings = new Interner()): IndexRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || typeof value[1] !== 'string') return undefined;
  const key = value[1];
  switch (value[0]) {
    case 'put': {
      const read = value.length <= 10 ? entryOf(value, 1, strings) : undefined;
      return read && { type: 'put', key, entry: read.entry, named: read.named };
    }
    case 'remove':
      return value.length === 2 ? { type: 'remove', key } : undefined;
    case 'evict':
      return value.length === 3 && typeof value[2] === 'number' ? { type: 'evict', key, at: value[2] } : undefined;
    case 'touch':
      return value.length === 4 && typeof value[2] === 'number' && typeof value[3] === 'number'
        ? { type: 'touch', key, hits: value[2], lastUsedAt: value[3] }
        : undefined;
    default:
      return undefined;
  }
}

export interface JournalReadReport {
  /** Records applied. */
  records: number;
  /** Lines that were not records (skipped). */
  damaged: number;
  /** Bytes after the last newline: a torn append, ignored (and cut off by the caller). */
  tornBytes: number;
  /** Bytes of whole lines, header included: where the next append goes. */
  goodBytes: number;
  /** Bytes of `put` lines, and how many: the average size of an entry on disk. */
  putBytes: number;
  puts: number;
}

/** Not a journal this version can read (another file, or a newer format). */
export class JournalFormatError extends Error {}

const READ_CHUNK = 1024 * 1024;

/**
 * Reads a journal in chunks (never the whole file as one string), handing each record to
 * `apply` in order; undefined when there is no file. Throws when it cannot be read, or its
 * header is not this format's.
 */
export async function readJournal(path: string, apply: (record: IndexRecord) => void): Promise<JournalReadReport | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const report: JournalReadReport = { records: 0, damaged: 0, tornBytes: 0, goodBytes: 0, putBytes: 0, puts: 0 };
  const strings = new Interner();
  let header = true;
  const onLine = (data: Buffer, start: number, end: number) => {
    report.goodBytes += end + 1 - start;
    if (header) {
      header = false;
      const value = parseHeader(data.toString('utf8', start, end));
      if (value !== true) throw new JournalFormatError(value);
      return;
    }
    if (end === start) return;
    const record = parseRecord(data.toString('utf8', start, end), strings);
    if (!record) {
      report.damaged++;
      return;
    }
    if (record.type === 'put') {
      report.puts++;
      report.putBytes += end + 1 - start;
    }
    report.records++;
    apply(record);
  };
  try {
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    let carry: Buffer | undefined;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, READ_CHUNK, null);
      if (bytesRead === 0) break;
      const data = carry ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      carry = undefined;
      let start = 0;
      for (let end = data.indexOf(10, start); end !== -1; end = data.indexOf(10, start)) {
        onLine(data, start, end);
        start = end + 1;
      }
      // A line that goes on in the next chunk (copied: the chunk is read into again).
      if (start < data.length) carry = Buffer.from(data.subarray(start));
    }
    report.tornBytes = carry?.length ?? 0;
    // Empty, or a header cut short: nothing an append could follow.
    if (header) throw new JournalFormatError('no header line');
  } finally {
    await handle.close();
  }
  return report;
}

function parseHeader(text: string): true | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'no header line';
  }
  if (!isObject(value) || value.format !== INDEX_FORMAT) return 'not a HexHub index';
  if (value.version !== INDEX_VERSION) return `index format version ${String(value.version)}, this HexHub reads ${INDEX_VERSION}`;
  return true;
}

/** The lowdb index of earlier versions, if there is one: its entries and eviction marks (oldest first). */
export async function readLegacyIndex(dataDir: string): Promise<{ entries: [string, CacheEntry][]; evicted: [string, number][] } | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, LEGACY_INDEX_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const data: unknown = JSON.parse(text);
  if (!isObject(data) || !isObject(data.entries)) throw new Error('not an index (no entries)');
  const entries = Object.entries(data.entries).filter((pair): pair is [string, CacheEntry] => isEntry(pair[1]));
  const evicted = isObject(data.evicted) ? Object.entries(data.evicted).filter((pair): pair is [string, number] => typeof pair[1] === 'number') : [];
  return { entries, evicted };
}

export async function legacyIndexExists(dataDir: string): Promise<boolean> {
  return stat(join(dataDir, LEGACY_INDEX_FILE)).then(
    () => true,
    () => false,
  );
}

export function removeLegacyIndex(dataDir: string): Promise<void> {
  return rm(join(dataDir, LEGACY_INDEX_FILE), { force: true });
}

async function writeAll(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** The file: where appends go, and how much has been written to it. */
export class JournalFile {
  readonly path: string;
  /** Bytes of whole lines in the file; appends go there. */
  size = 0;
  /** Bytes written to the file (appends and rewrites) since this process opened it. */
  bytesWritten = 0;
  /** A failed append could not be cut off: the next one cuts what follows it. */
  private tailDirty = false;

  constructor(
    dataDir: string,
    private readonly onWritten?: (bytes: number) => void,
  ) {
    this.path = join(dataDir, INDEX_FILE);
  }

  read(apply: (record: IndexRecord) => void): Promise<JournalReadReport | undefined> {
    return readJournal(this.path, apply);
  }

  /** Cuts what follows the whole lines (a torn append) off; false if that failed (the next append will). */
  async cutTail(goodBytes: number): Promise<boolean> {
    this.size = goodBytes;
    try {
      await truncate(this.path, goodBytes);
      return true;
    } catch {
      this.tailDirty = true;
      return false;
    }
  }

  /**
   * Appends whole lines after what is known good. On failure what it wrote is cut off again
   * (or, if even that fails, by the next append), and the error is thrown.
   */
  async append(text: string): Promise<void> {
    const bytes = Buffer.from(text);
    let handle: FileHandle | undefined;
    try {
      handle = await open(this.path, 'r+');
      await writeAll(handle, bytes, this.size);
      if (this.tailDirty) await handle.truncate(this.size + bytes.length);
    } catch (error) {
      if (handle) await handle.truncate(this.size).catch(() => (this.tailDirty = true));
      await handle?.close().catch(() => undefined);
      throw error;
    }
    await handle.close();
    this.tailDirty = false;
    this.size += bytes.length;
    this.count(bytes.length);
  }

  /**
   * Replaces the file with `chunks` (header first): a temporary file, synced, then renamed into
   * place. Awaits between chunks, so a large rewrite does not hold the event loop.
   */
  async rewrite(chunks: Iterable<string>): Promise<void> {
    const temp = `${this.path}.tmp`;
    let written = 0;
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        // A temporary file left by a crash keeps its mode through 'w'.
        await handle.chmod(0o600);
        for (const text of chunks) {
          const bytes = Buffer.from(text);
          await writeAll(handle, bytes, written);
          written += bytes.length;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
    this.size = written;
    this.tailDirty = false;
    this.count(written);
  }

  private count(bytes: number): void {
    this.bytesWritten += bytes;
    this.onWritten?.(bytes);
  }
}

/** How much text one rewrite chunk holds before it is written. */
const REWRITE_CHUNK_CHARS = 1024 * 1024;

/** The lines of a whole index (header, entries, then eviction marks oldest first), in chunks of about 1 MiB. */
export function* snapshotLines(entries: Iterable<[string, CacheEntry]>, evicted: Iterable<[string, number]>): Generator<string> {
  let text = HEADER_LINE;
  for (const [key, entry] of entries) {
    text += line.put(key, entry);
    if (text.length >= REWRITE_CHUNK_CHARS) {
      yield text;
      text = '';
    }
  }
  for (const [key, at] of evicted) {
    text += line.evict(key, at);
    if (text.length >= REWRITE_CHUNK_CHARS) {
      yield text;
      text = '';
    }
  }
  if (text) yield text;
}

/** Writes a whole index file into `dataDir` (benchmarks and tests make synthetic caches with it). */
export async function writeIndexFile(dataDir: string, entries: Iterable<[string, CacheEntry]>, evicted: Iterable<[string, number]> = []): Promise<number> {
  const file = new JournalFile(dataDir);
  await file.rewrite(snapshotLines(entries, evicted));
  return file.size;
}
