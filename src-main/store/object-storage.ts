// Where stored objects live for good, behind one small interface with two implementations:
// the data dir on local disk (the default, what the desktop app uses) and a shared
// S3-compatible bucket (team mode, s3-storage.ts). Both keep the same guarantees: only
// verified bytes are stored, an object appears whole or not at all, and the local lowdb index
// is a cache of what the storage holds, rebuilt from it.
//
// Serving always reads the local disk (BlobStore): with S3 the local copies are a bounded,
// least-recently-used cache in front of the bucket, filled from the bucket on demand.
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CacheEntry, CacheIndex } from './cache-index.js';
import { describeKey } from './keys.js';
import type { BlobStore } from './blob-store.js';

/** What is recorded with a stored object (and in S3, carried as its metadata). */
export type StoredMeta = Pick<CacheEntry, 'size' | 'sha256' | 'etag' | 'upstreamEtag' | 'fetchedAt'>;

export interface ObjectStorage {
  readonly kind: 'fs' | 's3';
  /** Where, for logs and status: a path or s3://bucket/prefix. */
  readonly location: string;
  /** True when other instances share the storage: local copies are then only a cache. */
  readonly shared: boolean;
  /** Checks the storage can be used; fails at start with a message saying what to fix. */
  open(): Promise<void>;
  /**
   * Makes a verified temporary file the object `key`, whole or not at all. `immutable` objects
   * (tarballs, docs) never overwrite one already there: an equal copy stored by another
   * instance counts as success. Throws if the object could not be kept.
   */
  persist(tempPath: string, key: string, meta: StoredMeta, options: { immutable: boolean }): Promise<void>;
  /** Brings an object the index does not know (or whose local copy is gone) from the storage; undefined if it has none. */
  restore(key: string): Promise<StoredMeta | undefined>;
  /** Deletes an object everywhere. */
  remove(key: string): Promise<void>;
  /** Makes the index agree with the storage (start-up, and periodically when shared). */
  reconcile(index: CacheIndex): Promise<{ dropped: number; adopted: number }>;
  /** Throws if the storage cannot be reached now (readiness). */
  ping(): Promise<void>;
  /**
   * Shared storage only: drops local copies, least recently used first, until they fit in
   * `capBytes` (the bucket keeps them); never one being read.
   */
  trimLocal?(capBytes: number, lastUsed: (key: string) => number, inUse: (key: string) => boolean): Promise<{ removed: number; freedBytes: number }>;
  /** Shared storage only: the local copies trimLocal chooses from, with their sizes. */
  localCopies?(): { key: string; bytes: number }[];
  close?(): Promise<void>;
}

/**
 * Shared storage: an object another instance stored, copied in and recorded, if `accept` takes
 * it; as fresh as when it was stored (so within a TTL no instance asks the upstream again).
 * Undefined when the storage has none, cannot be read (the caller then goes to the upstream),
 * or `accept` refuses it.
 */
export async function restoreEntry(
  storage: ObjectStorage,
  index: CacheIndex,
  key: string,
  log: Logger,
  accept: (meta: StoredMeta) => Promise<boolean> | boolean,
): Promise<CacheEntry | undefined> {
  if (!storage.shared) return undefined;
  const meta = await storage.restore(key).catch((error: Error) => {
    log.warn({ event: 'storage_restore_failed', key, error: error.message }, 'could not read the object from the shared storage; using the upstream');
    return undefined;
  });
  if (!meta || !(await accept(meta))) return undefined;
  const entry: CacheEntry = { ...describeKey(key), ...meta, validatedAt: meta.fetchedAt, lastUsedAt: Date.now(), hits: 0 };
  index.put(key, entry);
  log.info({ event: 'storage_restored', key, bytes: meta.size }, 'copied in from the shared storage');
  return entry;
}

/** A storage failure, already reported to the storage health with `reason`. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/** The default: objects are files in the data dir, and the disk is the truth. */
export class FsStorage implements ObjectStorage {
  readonly kind = 'fs';
  readonly shared = false;

  constructor(private readonly blobs: BlobStore) {}

  get location(): string {
    return this.blobs.root;
  }

  async open(): Promise<void> {}

  persist(tempPath: string, key: string): Promise<void> {
    return this.blobs.commit(tempPath, key);
  }

  async restore(): Promise<undefined> {
    return undefined;
  }

  remove(key: string): Promise<void> {
    return this.blobs.remove(key);
  }

  reconcile(index: CacheIndex): Promise<{ dropped: number; adopted: number }> {
    return index.reconcile(this.blobs);
  }

  async ping(): Promise<void> {
    await stat(this.blobs.root);
  }
}
