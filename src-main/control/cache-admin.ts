// Changing what is cached: deleting releases, packages or everything; verifying every
// stored file against its recorded checksum (damaged ones are moved to quarantine, not
// deleted, so they can be inspected); and keeping tarballs and docs under the size cap.
import { messageOf } from '../../src-shared/problems.js';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Logger } from 'pino';
import type { DeleteResponse, VerifyReport } from '../../src-shared/contract.js';
import type { BlobStore } from '../store/blob-store.js';
import type { ProvenanceCheck } from '../mirror/provenance.js';
import type { ObjectStorage } from '../store/object-storage.js';
import { hashFile, type CacheEntry, type CacheIndex } from '../store/cache-index.js';
import { keys } from '../store/keys.js';
import { selectForCap, type CapCandidate } from '../store/size-cap.js';
import type { Catalog } from './catalog.js';

const MISSING = 'file is missing';

/** A quarantine folder name for one verify run or scrub pass: its start time. */
export function quarantineBatch(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** Registry records first: the tarball checks read them. */
function recordsFirst([, a]: [string, CacheEntry], [, b]: [string, CacheEntry]): number {
  return Number(b.kind === 'registry') - Number(a.kind === 'registry');
}

/** Why an object left the cache: the user deleted it, or the size cap evicted it. */
export type RemovalReason = 'user' | 'cap';

export type RemovalListener = (key: string, entry: CacheEntry, reason: RemovalReason) => void;

export class CacheAdmin {
  private evicting = false;
  private readonly removalListeners = new Set<RemovalListener>();

  constructor(
    private readonly dataDir: string,
    private readonly store: BlobStore,
    private readonly storage: ObjectStorage,
    private readonly index: CacheIndex,
    private readonly catalog: Catalog,
    private readonly log: Logger,
    private readonly provenance?: ProvenanceCheck,
  ) {}

  /** Told of each object deleted by the user or evicted by the size cap (not of quarantined ones). */
  onRemoved(listener: RemovalListener): () => void {
    this.removalListeners.add(listener);
    return () => this.removalListeners.delete(listener);
  }

  private async removeKeys(list: string[], reason: RemovalReason = 'user'): Promise<DeleteResponse> {
    let freedBytes = 0;
    let removed = 0;
    for (const key of list) {
      const entry = this.index.get(key);
      if (!entry) continue;
      await this.storage.remove(key);
      this.index.delete(key);
      freedBytes += entry.size;
      removed++;
      for (const listener of this.removalListeners) listener(key, entry, reason);
    }
    if (removed) this.log.info({ event: 'cache_delete', removed, freedBytes }, 'removed from the cache');
    return { removed, freedBytes };
  }

  deleteRelease(name: string, version: string): Promise<DeleteResponse> {
    return this.removeKeys([keys.tarball(name, version), keys.docs(name, version)]);
  }

  deletePackage(name: string): Promise<DeleteResponse> {
    return this.removeKeys(this.catalog.keysOf(name));
  }

  deleteAll(): Promise<DeleteResponse> {
    return this.removeKeys(this.index.all().map(([key]) => key));
  }

  /**
   * Re-hashes every stored file and checks it is vouched for under the current upstream;
   * what fails is quarantined and dropped from the index (and fetched again on next use).
   */
  async verify(onProgress?: (checked: number, total: number) => void): Promise<VerifyReport> {
    const started = performance.now();
    const entries = this.index.all().sort(recordsFirst);
    const report: VerifyReport = { checked: 0, ok: 0, problems: [], quarantined: [], durationMs: 0 };
    const batch = quarantineBatch();
    for (const [key, entry] of entries) {
      report.checked++;
      const reason = (await this.check(key, entry)) ?? (await this.provenance?.(key, entry));
      if (reason === undefined) {
        report.ok++;
      } else {
        report.problems.push({ key, reason });
        const moved = await this.quarantine(key, reason, batch);
        if (moved) report.quarantined.push(moved);
      }
      onProgress?.(report.checked, entries.length);
    }
    await this.index.flush();
    report.durationMs = Math.round(performance.now() - started);
    return report;
  }

  /** Why a stored object does not match its index entry, or undefined if it does. */
  async check(key: string, entry: CacheEntry, hash: (path: string) => Promise<{ size: number; sha256: string }> = hashFile): Promise<string | undefined> {
    try {
      const { size, sha256 } = await hash(this.store.path(key));
      if (size !== entry.size) return `size ${size} differs from the recorded ${entry.size}`;
      if (sha256 !== entry.sha256) return `SHA-256 ${sha256} differs from the recorded ${entry.sha256}`;
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return `unreadable: ${messageOf(error)}`;
      // Shared storage: the local copy is only a cache; the bucket has the object.
      return this.storage.shared ? undefined : MISSING;
    }
  }

  /**
   * Drops a damaged object from the index and moves its file aside for inspection (into
   * quarantine/BATCH/KEY); returns that path relative to the data dir, if there was a file.
   */
  async quarantine(key: string, reason: string, batch: string): Promise<string | undefined> {
    this.index.delete(key);
    this.store.forget(key);
    this.log.warn({ event: 'verify_failed', key, reason }, 'stored object failed verification');
    if (reason === MISSING) return undefined;
    const target = join(this.dataDir, 'quarantine', batch, key);
    await mkdir(dirname(target), { recursive: true });
    await rename(this.store.path(key), target).catch(() => this.store.remove(key));
    return relative(this.dataDir, target);
  }

  /**
   * What enforcing `capBytes` would evict now (selectForCap): tarballs and docs, or with shared
   * storage the local copies. The eviction and its preview both ask this, so they agree.
   */
  capVictims(capBytes: number | null): CapCandidate[] {
    const lastUsed = (key: string) => this.index.get(key)?.lastUsedAt ?? 0;
    const inUse = (key: string) => this.store.inUse(key);
    if (this.storage.localCopies) {
      const copies = this.storage.localCopies();
      const total = copies.reduce((sum, c) => sum + c.bytes, 0);
      return selectForCap(
        copies.map((c) => ({ ...c, lastUsed: lastUsed(c.key) })),
        total,
        capBytes,
        inUse,
      );
    }
    const candidates = this.index
      .all()
      .filter(([, e]) => e.kind === 'tarball' || e.kind === 'docs')
      .map(([key, e]) => ({ key, bytes: e.size, lastUsed: e.lastUsedAt }));
    return selectForCap(candidates, this.catalog.evictableBytes, capBytes, inUse);
  }

  /** Evicts least recently used tarballs and docs until they fit under the cap; never one being served. */
  async enforceCap(capBytes: number | null): Promise<DeleteResponse> {
    // Shared storage: the cap bounds this instance's local copies; the bucket keeps everything.
    if (this.storage.trimLocal) {
      if (capBytes === null) return { removed: 0, freedBytes: 0 };
      return this.storage.trimLocal(
        capBytes,
        (key) => this.index.get(key)?.lastUsedAt ?? 0,
        (key) => this.store.inUse(key),
      );
    }
    if (capBytes === null || this.evicting || this.catalog.evictableBytes <= capBytes) return { removed: 0, freedBytes: 0 };
    this.evicting = true;
    try {
      const victims = this.capVictims(capBytes).map((v) => v.key);
      const result = await this.removeKeys(victims, 'cap');
      const at = Date.now();
      for (const key of victims) if (key.startsWith('tarballs/') && !this.index.get(key)) this.index.markEvicted(key, at);
      if (result.removed) this.log.info({ event: 'evicted', ...result, capBytes }, 'evicted least recently used objects to stay under the size cap');
      return result;
    } finally {
      this.evicting = false;
    }
  }
}
