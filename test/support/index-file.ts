// Reads the cache index a data dir holds (index.jsonl, see src-main/store/index-journal.ts)
// the way a person would: the header line, then the records replayed in order. Written apart
// from the engine's reader, so a test checks the format, not the reader against itself.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeKey } from '../../src-shared/keys.js';

export interface IndexedEntry {
  kind: string;
  package?: string;
  version?: string;
  size: number;
  sha256: string;
  hits: number;
  lastUsedAt: number;
  [field: string]: unknown;
}

export interface IndexFile {
  header: { format: string; version: number };
  entries: Record<string, IndexedEntry>;
  /** Eviction marks, oldest first. */
  evicted: Record<string, number>;
}

/** An entry as a put record has it: the fixed fields, the key's kind, package and version, then the others. */
function entryOf(key: string, fields: unknown[]): IndexedEntry {
  const [size, sha256, fetchedAt, validatedAt, lastUsedAt, hits, trust, more] = fields as [
    number,
    string,
    number,
    number,
    number,
    number,
    string | null,
    Record<string, unknown>?,
  ];
  const entry: Record<string, unknown> = { ...describeKey(key), size, sha256, fetchedAt, validatedAt, lastUsedAt, hits };
  if (trust !== null) entry.trust = trust;
  for (const [field, value] of Object.entries(more ?? {})) {
    if (value === null) delete entry[field];
    else entry[field] = value;
  }
  return entry as IndexedEntry;
}

/** The whole index: entries and eviction marks. Throws if the file is missing or its header is not the index's. */
export async function readIndexFile(dataDir: string): Promise<IndexFile> {
  const lines = (await readFile(join(dataDir, 'index.jsonl'), 'utf8')).split('\n');
  const header = JSON.parse(lines[0]!) as IndexFile['header'];
  if (header.format !== 'hexhub-index' || header.version !== 1) throw new Error(`not a cache index: ${lines[0]}`);
  const entries: Record<string, IndexedEntry> = {};
  const evicted: Record<string, number> = {};
  // A torn last line (no newline after it) is not part of the index.
  for (const text of lines.slice(1, -1)) {
    if (!text) continue;
    const [type, key, ...rest] = JSON.parse(text) as [string, string, ...unknown[]];
    if (type === 'put') {
      entries[key] = entryOf(key, rest);
      delete evicted[key];
    } else if (type === 'remove') {
      delete entries[key];
    } else if (type === 'evict') {
      delete evicted[key];
      evicted[key] = rest[0] as number;
    } else if (type === 'touch' && entries[key]) {
      entries[key] = { ...entries[key], hits: rest[0] as number, lastUsedAt: rest[1] as number };
    } else if (type !== 'touch') {
      throw new Error(`not an index record: ${text}`);
    }
  }
  return { header, entries, evicted };
}

/** What the index records as cached, by key. */
export async function readIndexEntries(dataDir: string): Promise<Record<string, IndexedEntry>> {
  return (await readIndexFile(dataDir)).entries;
}
