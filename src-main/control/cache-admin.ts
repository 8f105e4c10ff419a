// Changing what is cached: deleting releases, packages or everything; verifying every
// stored file against its recorded checksum (damaged ones are moved to quarantine, not
// deleted, so they can be inspected); and keeping tarballs and docs under the size cap.
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Logger } from 'pino';
import type { DeleteResponse, VerifyReport } from '../../src-shared/contract.js';
import type { BlobStore } from '../store/blob-store.js';
import { hashFile, type CacheIndex } from '../store/cache-index.js';
import { keys } from '../store/keys.js';
import type { Catalog } from './catalog.js';

export class CacheAdmin {
  private evicting = false;

  constructor(
    private readonly dataDir: string,
    private readonly store: BlobStore,
    private readonly index: CacheIndex,
    private readonly catalog: Catalog,
    private readonly log: Logger,
  ) {}

  private async removeKeys(list: string[]): Promise<DeleteResponse> {
    let freedBytes = 0;
    let removed = 0;
    for (const key of list) {
      const entry = this.index.get(key);
      if (!entry) continue;
      this.index.delete(key);
      await this.store.remove(key);
      freedBytes += entry.size;
      removed++;
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

  /** Re-hashes every stored file; what does not match is quarantined and dropped from the index. */
  async verify(onProgress?: (checked: number, total: number) => void): Promise<VerifyReport> {
    const started = performance.now();
    const entries = this.index.all();
    const report: VerifyReport = { checked: 0, ok: 0, problems: [], quarantined: [], durationMs: 0 };
    const quarantineDir = join(this.dataDir, 'quarantine', new Date().toISOString().replace(/[:.]/g, '-'));
    for (const [key, entry] of entries) {
      report.checked++;
      let reason: string | undefined;
      try {
        const { size, sha256 } = await hashFile(this.store.path(key));
        if (size !== entry.size) reason = `size ${size} differs from the recorded ${entry.size}`;
        else if (sha256 !== entry.sha256) reason = `SHA-256 ${sha256} differs from the recorded ${entry.sha256}`;
      } catch (error) {
        reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file is missing' : `unreadable: ${(error as Error).message}`;
      }
      if (reason === undefined) {
        report.ok++;
      } else {
        report.problems.push({ key, reason });
        this.index.delete(key);
        if (!reason.startsWith('file is missing')) {
          const target = join(quarantineDir, key);
          await mkdir(dirname(target), { recursive: true });
          await rename(this.store.path(key), target).catch(() => this.store.remove(key));
          report.quarantined.push(relative(this.dataDir, target));
        }
        this.log.warn({ event: 'verify_failed', key, reason }, 'stored object failed verification');
      }
      onProgress?.(report.checked, entries.length);
    }
    await this.index.flush();
    report.durationMs = Math.round(performance.now() - started);
    return report;
  }

  /** Evicts least recently used tarballs and docs until they fit under the cap; never one being served. */
  async enforceCap(capBytes: number | null): Promise<DeleteResponse> {
    if (capBytes === null || this.evicting || this.catalog.evictableBytes <= capBytes) return { removed: 0, freedBytes: 0 };
    this.evicting = true;
    try {
      const candidates = this.index
        .all()
        .filter(([, e]) => e.kind === 'tarball' || e.kind === 'docs')
        .sort(([, a], [, b]) => a.lastUsedAt - b.lastUsedAt);
      const victims: string[] = [];
      let excess = this.catalog.evictableBytes - capBytes;
      for (const [key, entry] of candidates) {
        if (excess <= 0) break;
        if (this.store.inUse(key)) continue;
        victims.push(key);
        excess -= entry.size;
      }
      const result = await this.removeKeys(victims);
      if (result.removed) this.log.info({ event: 'evicted', ...result, capBytes }, 'evicted least recently used objects to stay under the size cap');
      return result;
    } finally {
      this.evicting = false;
    }
  }
}
