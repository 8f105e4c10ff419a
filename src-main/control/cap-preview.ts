// What a size cap would evict now, for the dashboard to show before a lower cap is saved: the
// very choice the eviction makes (CacheAdmin.capVictims), with each copy's package and size and
// a per-package summary. Asking removes nothing.
import type { CapPreview } from '../../src-shared/contract.js';
import type { CacheIndex } from '../store/cache-index.js';
import { describeKey } from '../store/keys.js';
import type { CacheAdmin } from './cache-admin.js';
import type { Catalog } from './catalog.js';

export function capPreview(admin: CacheAdmin, index: CacheIndex, catalog: Catalog, sizeCapBytes: number | null): CapPreview {
  const evict = admin.capVictims(sizeCapBytes).map(({ key, bytes, lastUsed }) => {
    const { kind, package: name, version } = index.get(key) ?? describeKey(key);
    return { key, name: name ?? '', ...(version ? { version } : {}), kind, bytes, lastUsed };
  });
  const byName = new Map<string, { name: string; releases: number; bytes: number }>();
  for (const copy of evict) {
    const summary = byName.get(copy.name) ?? { name: copy.name, releases: 0, bytes: 0 };
    if (copy.kind === 'tarball') summary.releases++;
    summary.bytes += copy.bytes;
    byName.set(copy.name, summary);
  }
  const packages = [...byName.values()].sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1));
  const bytes = evict.reduce((sum, c) => sum + c.bytes, 0);
  const totalBytes = catalog.totalBytes;
  return { sizeCapBytes, totalBytes, afterBytes: totalBytes - bytes, evict, packages, bytes };
}
