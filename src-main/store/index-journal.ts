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

/**
 * A read entry, made one way for both readers (parseRecord and PutLineReader), so entries of
 * the same fields share one shape whichever read them. The strings are interned already.
 */
function newEntry(
  kind: ObjectKind,
  name: string | undefined,
  version: string | undefined,
  size: number,
  sha256: string,
  trust: string | undefined,
  fetchedAt: number,
  validatedAt: number,
  lastUsedAt: number,
  hits: number,
): CacheEntry {
  // Most entries (tarballs, docs): every field in one literal, so they share one compact shape.
  if (name !== undefined && version !== undefined && trust !== undefined)
    return { kind, package: name, version, size, sha256, trust, fetchedAt, validatedAt, lastUsedAt, hits };
  const entry: CacheEntry = { kind, size, sha256, fetchedAt, validatedAt, lastUsedAt, hits };
  if (name !== undefined) entry.package = name;
  if (version !== undefined) entry.version = version;
  if (trust !== undefined) entry.trust = trust;
  return entry;
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
  const entry = newEntry(info.kind, name, version, size, sha256, trust === null ? undefined : strings.get(trust), fetchedAt, validatedAt, lastUsedAt, hits);
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

const QUOTE = 0x22;
const COMMA = 0x2c;
const DASH = 0x2d;
const BACKSLASH = 0x5c;
const ZERO = 0x30;
const NINE = 0x39;
const CLOSE = 0x5d;
const bytes = (text: string) => Buffer.from(text, 'latin1');
const PUT = bytes('["put","');
const NULL = bytes('null');
const TARBALLS = bytes('tarballs/');
const DOT_TAR = bytes('.tar');
const DOCS = bytes('docs/');
const DOT_TAR_GZ = bytes('.tar.gz');
const PACKAGES = bytes('registry/packages/');
const NOTHING = bytes('');

/**
 * Reads the commonest lines, put records as line.put writes them for tarballs, docs and
 * package records, straight from the bytes: at 200,000 entries, the string of each line, its
 * JSON.parse, the array it made, and the strings of the key's package and version were most
 * of the start-up. Anything it does not know for sure (an escape or a non-ASCII byte in a
 * string, a number that is not a plain whole number of up to 15 digits, MORE, another kind of
 * key, a damaged line) it leaves to parseRecord, so what it reads is what parseRecord would.
 */
export class PutLineReader {
  /** Where the number just read ends. */
  private at = 0;
  /**
   * The package and trust of the entry read before, compared before any string is made: a
   * file lists a package's entries together, and most were verified under one signing key.
   */
  private name = '';
  private trust = '';
  /** Versions met, by a hash of their bytes: the same few recur across packages (1.0.0, 0.1.0). */
  private readonly versions = new Array<string>(VERSION_SLOTS).fill('');

  constructor(private readonly strings: Interner) {}

  /**
   * The put record of the line `data[start, end)`, handed to `put`; false, having done
   * nothing, if it is not a line this reads (one that does not end at `end` included).
   */
  read(data: Buffer, start: number, end: number, put: (key: string, entry: CacheEntry, named: boolean) => void): boolean {
    if (!bytesAre(data, start, PUT)) return false;
    const keyStart = start + PUT.length;
    const keyEnd = plainString(data, keyStart, end);
    if (keyEnd < 0 || data[keyEnd + 1] !== COMMA) return false;
    const size = this.number(data, keyEnd + 2);
    if (size < 0 || data[this.at] !== COMMA || data[this.at + 1] !== QUOTE) return false;
    const shaStart = this.at + 2;
    const shaEnd = plainString(data, shaStart, end);
    if (shaEnd < 0 || data[shaEnd + 1] !== COMMA) return false;
    const fetchedAt = this.number(data, shaEnd + 2);
    if (fetchedAt < 0 || data[this.at] !== COMMA) return false;
    const validatedAt = this.number(data, this.at + 1);
    if (validatedAt < 0 || data[this.at] !== COMMA) return false;
    const lastUsedAt = this.number(data, this.at + 1);
    if (lastUsedAt < 0 || data[this.at] !== COMMA) return false;
    const hits = this.number(data, this.at + 1);
    if (hits < 0 || data[this.at] !== COMMA) return false;
    // TRUST, a string or null; then the record ends, and the line with it (no MORE).
    const trustStart = this.at + 2;
    let trustEnd = -1;
    let sameTrust = false;
    if (data[this.at + 1] === QUOTE) {
      // Most often the one before, whose text is known plain: compared, not scanned again.
      trustEnd = trustStart + this.trust.length;
      sameTrust = sameText(data, trustStart, trustEnd, this.trust) && data[trustEnd] === QUOTE;
      if (!sameTrust) trustEnd = plainString(data, trustStart, end);
      if (trustEnd < 0 || data[trustEnd + 1] !== CLOSE || trustEnd + 2 !== end) return false;
    } else if (!bytesAre(data, this.at + 1, NULL) || data[this.at + 1 + NULL.length] !== CLOSE || this.at + 2 + NULL.length !== end) {
      return false;
    }

    // What the key says (as keyInfo reads it): its kind, and where its package and version are.
    let kind: ObjectKind;
    let nameStart: number;
    let nameEnd = keyEnd;
    let versionEnd = -1;
    if (keyIs(data, keyStart, keyEnd, TARBALLS, DOT_TAR)) {
      kind = 'tarball';
      nameStart = keyStart + TARBALLS.length;
      versionEnd = keyEnd - DOT_TAR.length;
    } else if (keyIs(data, keyStart, keyEnd, DOCS, DOT_TAR_GZ)) {
      kind = 'docs';
      nameStart = keyStart + DOCS.length;
      versionEnd = keyEnd - DOT_TAR_GZ.length;
    } else if (keyIs(data, keyStart, keyEnd, PACKAGES, NOTHING)) {
      kind = 'registry';
      nameStart = keyStart + PACKAGES.length;
    } else {
      return false;
    }
    // A release's package ends at the key's first '-' (Hex names have none).
    if (versionEnd >= 0) {
      for (nameEnd = nameStart; nameEnd < versionEnd && data[nameEnd] !== DASH; nameEnd++);
      if (nameEnd === versionEnd) return false;
    }
    if (nameEnd <= nameStart) return false;

    const key = asciiText(data, keyStart, keyEnd);
    if (!sameText(data, nameStart, nameEnd, this.name)) this.name = this.strings.get(key.slice(nameStart - keyStart, nameEnd - keyStart));
    const version = versionEnd < 0 ? undefined : this.version(data, nameEnd + 1, versionEnd, key, keyStart);
    if (trustEnd >= 0 && !sameTrust) this.trust = this.strings.get(asciiText(data, trustStart, trustEnd));
    const trust = trustEnd >= 0 ? this.trust : undefined;
    const sha256 = asciiText(data, shaStart, shaEnd);
    put(key, newEntry(kind, this.name, version, size, sha256, trust, fetchedAt, validatedAt, lastUsedAt, hits), true);
    return true;
  }

  /**
   * The whole number at `from`, of 1 to 15 digits (so exactly a double's), with `at` where
   * it ends; -1 for anything else (a sign, a fraction, an exponent: parseRecord reads those).
   */
  private number(data: Buffer, from: number): number {
    let i = from;
    let value = 0;
    for (let c = data[i]!; c >= ZERO && c <= NINE; c = data[++i]!) value = value * 10 + (c - ZERO);
    const digits = i - from;
    // JSON has no leading zeros: "01" is not a number (parseRecord finds the line damaged).
    if (digits === 0 || digits > 15 || (digits > 1 && data[from] === ZERO)) return -1;
    this.at = i;
    return value;
  }

  /** The version at `data[start, end)`, which is `key` from `keyStart`: the one met before, if it was. */
  private version(data: Buffer, start: number, end: number, key: string, keyStart: number): string {
    let hash = 0;
    for (let i = start; i < end; i++) hash = (hash * 31 + data[i]!) | 0;
    const slot = hash & (VERSION_SLOTS - 1);
    const met = this.versions[slot]!;
    if (sameText(data, start, end, met)) return met;
    return (this.versions[slot] = this.strings.get(key.slice(start - keyStart, end - keyStart)));
  }
}

const VERSION_SLOTS = 4096;

/** The text of ASCII bytes (as latin1: one byte a character, no decoding). */
function asciiText(data: Buffer, start: number, end: number): string {
  return data.toString('latin1', start, end);
}

/** Whether the bytes at `at` are `expected`'s. */
function bytesAre(data: Buffer, at: number, expected: Buffer): boolean {
  for (let i = 0; i < expected.length; i++) if (data[at + i] !== expected[i]) return false;
  return true;
}

/** Whether the key `data[start, end)` starts with `prefix` and ends with `suffix` (which never overlap). */
function keyIs(data: Buffer, start: number, end: number, prefix: Buffer, suffix: Buffer): boolean {
  return end - start >= prefix.length + suffix.length && bytesAre(data, start, prefix) && bytesAre(data, end - suffix.length, suffix);
}

/**
 * Where the JSON string whose text starts at `from` ends (its closing quote, before `end`), if
 * it is plain ASCII without escapes, so its bytes are its text; -1 otherwise.
 */
function plainString(data: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    const c = data[i]!;
    if (c === QUOTE) return i;
    if (c < 0x20 || c === BACKSLASH || c >= 0x80) return -1;
  }
  return -1;
}

/** Whether the bytes `data[start, end)` are the plain ASCII `text`. */
function sameText(data: Buffer, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (data[start + i] !== text.charCodeAt(i)) return false;
  return true;
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

/** Where a journal's records go, in order: puts apart, with no record object each (nearly every line is one). */
export interface JournalReplay {
  /** `named`: as IndexRecord's. */
  put(key: string, entry: CacheEntry, named: boolean): void;
  other(record: Exclude<IndexRecord, { type: 'put' }>): void;
}

/**
 * Reads a journal in chunks (never the whole file as one string), handing each record to
 * `replay` in order; undefined when there is no file. Throws when it cannot be read, or its
 * header is not this format's.
 */
export async function readJournal(path: string, replay: JournalReplay): Promise<JournalReadReport | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const report: JournalReadReport = { records: 0, damaged: 0, tornBytes: 0, goodBytes: 0, putBytes: 0, puts: 0 };
  const strings = new Interner();
  const puts = new PutLineReader(strings);
  const put = replay.put.bind(replay);
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
    if (puts.read(data, start, end, put)) {
      report.records++;
      report.puts++;
      report.putBytes += end + 1 - start;
      return;
    }
    const record = parseRecord(data.toString('utf8', start, end), strings);
    if (!record) {
      report.damaged++;
      return;
    }
    report.records++;
    if (record.type === 'put') {
      report.puts++;
      report.putBytes += end + 1 - start;
      replay.put(record.key, record.entry, record.named ?? entryNamesKey(record.entry, record.key));
    } else {
      replay.other(record);
    }
  };
  try {
    let buffer = Buffer.allocUnsafe(READ_CHUNK);
    /** Bytes at the buffer's start: a line that goes on in the next read. */
    let kept = 0;
    for (;;) {
      // A line longer than the buffer: a bigger one.
      if (kept === buffer.length) {
        const bigger = Buffer.allocUnsafe(2 * buffer.length);
        buffer.copy(bigger);
        buffer = bigger;
      }
      const { bytesRead } = await handle.read(buffer, kept, buffer.length - kept, null);
      if (bytesRead === 0) break;
      const data = buffer.subarray(0, kept + bytesRead);
      let start = 0;
      for (let end = data.indexOf(10, start); end !== -1; end = data.indexOf(10, start)) {
        onLine(data, start, end);
        start = end + 1;
      }
      // Moved to the start, rather than the next read joined to it (a copy of every chunk).
      data.copyWithin(0, start);
      kept = data.length - start;
    }
    report.tornBytes = kept;
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

  read(replay: JournalReplay): Promise<JournalReadReport | undefined> {
    return readJournal(this.path, replay);
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
