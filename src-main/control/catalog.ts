// Read views of the cache for the control API: the package listing (search, sort, paging),
// one package in detail, and disk use. It keeps a per-package list of stored keys, updated
// as objects are stored and removed, so a listing never walks the whole index.
import { statfs } from 'node:fs/promises';
import type {
  CachedObjectView,
  CachedPackageSummary,
  CacheListQuery,
  CacheListResponse,
  CacheSortField,
  DiskUsageResponse,
  ObjectKind,
  PackageDetailResponse,
  ReleaseView,
} from '../../src-shared/contract.js';
import { QueryError } from '../core/validation-errors.js';
import { newestFirst } from '../hex/versions.js';
import type { RegistryService } from '../mirror/registry-service.js';
import type { CacheEntry, CacheIndex } from '../store/cache-index.js';
import { keys } from '../store/keys.js';

const MAX_PAGE_SIZE = 500;

/** A release whose tarball the size cap evicted (and that is not stored again): not a failure, it is fetched again when asked for. */
function evicted(index: CacheIndex, key: string, stored: string[]): Pick<ReleaseView, 'evicted'> {
  const at = stored.includes(key) ? undefined : index.evictedAt(key);
  return at === undefined ? {} : { evicted: { at, reason: 'size cap' } };
}
const SORT_FIELDS: CacheSortField[] = ['name', 'size', 'releases', 'fetched', 'lastUsed', 'hits'];

/** The views: the keys stored of each package, and the bytes stored of each kind. */
interface Views {
  byPackage: Map<string, Set<string>>;
  totals: Record<ObjectKind, number>;
  /** The index's load they were made after (CacheIndex.loads). */
  load: number;
}

/** `key` stored (replacing `previous`, if any). */
function add(views: Views, key: string, entry: CacheEntry, previous?: CacheEntry): void {
  if (previous) views.totals[previous.kind] -= previous.size;
  views.totals[entry.kind] += entry.size;
  if (!entry.package) return;
  let set = views.byPackage.get(entry.package);
  if (!set) views.byPackage.set(entry.package, (set = new Set()));
  set.add(key);
}

/** `key` removed (it was `entry`). */
function remove(views: Views, key: string, entry: CacheEntry): void {
  views.totals[entry.kind] -= entry.size;
  if (!entry.package) return;
  const set = views.byPackage.get(entry.package);
  set?.delete(key);
  if (set?.size === 0) views.byPackage.delete(entry.package);
}

export class Catalog {
  /**
   * Made from the whole index when first asked for after it is loaded, not at start-up (at
   * 200,000 entries that was a tenth of a second before the mirror could serve); kept up to
   * date by the index's changes from then on.
   */
  private made: Views | undefined;

  constructor(
    private readonly index: CacheIndex,
    private readonly registry: RegistryService,
    private readonly dataDir: string,
  ) {
    index.onChange((change) => {
      // Views not made yet, or of an earlier load, are made from the index as it is when asked for.
      const views = this.made;
      if (views === undefined || views.load !== index.loads) return;
      if (change.type === 'stored') add(views, change.key, change.entry!, change.previous);
      else remove(views, change.key, change.previous!);
    });
  }

  /** The views, made first if the index was loaded since (every public method starts here). */
  private get views(): Views {
    let views = this.made;
    if (views === undefined || views.load !== this.index.loads) this.made = views = this.build();
    return views;
  }

  /** Makes the views if they are not made yet (soon after start-up, so no request pays for it). */
  prepare(): void {
    void this.views;
  }

  private build(): Views {
    const views: Views = { byPackage: new Map(), totals: { registry: 0, tarball: 0, docs: 0, installs: 0, api: 0, public_key: 0 }, load: this.index.loads };
    let name: string | undefined;
    let set: Set<string> | undefined;
    for (const [key, entry] of this.index.each()) {
      views.totals[entry.kind] += entry.size;
      if (!entry.package) continue;
      // An index lists a package's entries together: its set is looked up once for a run of them.
      if (entry.package !== name) {
        name = entry.package;
        set = views.byPackage.get(name);
        if (!set) views.byPackage.set(name, (set = new Set()));
      }
      set!.add(key);
    }
    return views;
  }

  /** Keys stored for a package (registry record, tarballs, docs, API answers). */
  keysOf(name: string): string[] {
    return [...(this.views.byPackage.get(name) ?? [])];
  }

  get totalBytes(): number {
    return Object.values(this.views.totals).reduce((a, b) => a + b, 0);
  }

  /** Bytes the size cap applies to: tarballs and docs (registry records are small and kept). */
  get evictableBytes(): number {
    return this.views.totals.tarball + this.views.totals.docs;
  }

  counts(): { packages: number; releases: number; docs: number; bytes: number } {
    let releases = 0;
    let docs = 0;
    for (const set of this.views.byPackage.values()) {
      for (const key of set) {
        if (key.startsWith('tarballs/')) releases++;
        else if (key.startsWith('docs/')) docs++;
      }
    }
    return { packages: this.views.byPackage.size, releases, docs, bytes: this.totalBytes };
  }

  private summary(name: string): CachedPackageSummary {
    const summary: CachedPackageSummary = {
      name,
      versions: [],
      evicted: this.index.evictedCount(name),
      docs: 0,
      size: 0,
      fetchedAt: 0,
      lastUsedAt: 0,
      hits: 0,
    };
    for (const key of this.views.byPackage.get(name) ?? []) {
      const entry = this.index.get(key);
      if (!entry) continue;
      summary.size += entry.size;
      summary.fetchedAt = Math.max(summary.fetchedAt, entry.fetchedAt);
      summary.lastUsedAt = Math.max(summary.lastUsedAt, entry.lastUsedAt);
      summary.hits += entry.hits;
      if (entry.kind === 'tarball' && entry.version) summary.versions.push(entry.version);
      if (entry.kind === 'docs') summary.docs++;
    }
    summary.versions.sort(newestFirst);
    return summary;
  }

  private sortValue(name: string, sort: Exclude<CacheSortField, 'name'>): number {
    let value = 0;
    for (const key of this.views.byPackage.get(name) ?? []) {
      const entry = this.index.get(key);
      if (!entry) continue;
      if (sort === 'size') value += entry.size;
      else if (sort === 'hits') value += entry.hits;
      else if (sort === 'releases') value += entry.kind === 'tarball' ? 1 : 0;
      else value = Math.max(value, sort === 'fetched' ? entry.fetchedAt : entry.lastUsedAt);
    }
    return value;
  }

  list(query: CacheListQuery): CacheListResponse {
    const errors: Record<string, string> = {};
    // A key given twice in the query string arrives as an array.
    for (const [name, value] of Object.entries(query))
      if (value !== undefined && typeof value !== 'string' && typeof value !== 'number') errors[name] = 'must be given once';
    if (Object.keys(errors).length) throw new QueryError(errors);
    const sort = query.sort ?? 'name';
    if (!SORT_FIELDS.includes(sort)) errors.sort = `must be one of ${SORT_FIELDS.join(', ')}`;
    const order = query.order ?? (sort === 'name' ? 'asc' : 'desc');
    if (order !== 'asc' && order !== 'desc') errors.order = 'must be asc or desc';
    const page = Number(query.page ?? 1);
    const pageSize = Number(query.pageSize ?? 50);
    if (!Number.isInteger(page) || page < 1) errors.page = 'must be a whole number from 1';
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) errors.pageSize = `must be a whole number from 1 to ${MAX_PAGE_SIZE}`;
    if (Object.keys(errors).length) throw new QueryError(errors);

    const q = (query.q ?? '').trim().toLowerCase();
    let names = [...this.views.byPackage.keys()];
    if (q) names = names.filter((name) => name.includes(q));
    const direction = order === 'asc' ? 1 : -1;
    let items: CachedPackageSummary[];
    const start = (page - 1) * pageSize;
    if (sort === 'name') {
      // Only the page needs summaries.
      names.sort((a, b) => (a < b ? -direction : a > b ? direction : 0));
      items = names.slice(start, start + pageSize).map((name) => this.summary(name));
    } else {
      // Sort on one number per package; full summaries only for the page.
      const keyed = names.map((name) => ({ name, value: this.sortValue(name, sort) }));
      keyed.sort((a, b) => (a.value - b.value) * direction || (a.name < b.name ? -1 : 1));
      items = keyed.slice(start, start + pageSize).map(({ name }) => this.summary(name));
    }
    return { total: names.length, page, pageSize, items };
  }

  async detail(name: string): Promise<PackageDetailResponse | undefined> {
    const stored = this.keysOf(name);
    const record = await this.registry.storedRecord(name);
    if (stored.length === 0 && !record) return undefined;
    const objects: CachedObjectView[] = [];
    for (const key of stored) {
      const entry = this.index.get(key);
      if (!entry) continue;
      objects.push({
        key,
        kind: entry.kind,
        ...(entry.version ? { version: entry.version } : {}),
        size: entry.size,
        sha256: entry.sha256,
        fetchedAt: entry.fetchedAt,
        lastUsedAt: entry.lastUsedAt,
        hits: entry.hits,
      });
    }
    objects.sort((a, b) => (a.key < b.key ? -1 : 1));
    const registryEntry = this.index.get(keys.package(name));
    return {
      name,
      registry:
        record && registryEntry
          ? {
              fetchedAt: registryEntry.fetchedAt,
              validatedAt: registryEntry.validatedAt,
              releases: [...record.releases]
                .sort((a, b) => newestFirst(a.version, b.version))
                .map((r) => ({
                  ...evicted(this.index, keys.tarball(name, r.version), stored),
                  version: r.version,
                  ...(r.retired ? { retired: r.retired } : {}),
                  dependencies: r.dependencies.map((d) => ({ package: d.package, requirement: d.requirement, optional: d.optional, app: d.app })),
                  innerChecksum: r.innerChecksum,
                  ...(r.outerChecksum ? { outerChecksum: r.outerChecksum } : {}),
                  ...(r.publishedAt !== undefined ? { publishedAt: r.publishedAt } : {}),
                  cached: { tarball: stored.includes(keys.tarball(name, r.version)), docs: stored.includes(keys.docs(name, r.version)) },
                })),
            }
          : null,
      objects,
      size: objects.reduce((sum, o) => sum + o.size, 0),
    };
  }

  async disk(sizeCapBytes: number | null, topPackages = 25): Promise<DiskUsageResponse> {
    const byPackage: { name: string; bytes: number }[] = [];
    for (const [name, set] of this.views.byPackage) {
      let bytes = 0;
      for (const key of set) {
        if (key.startsWith('tarballs/') || key.startsWith('docs/')) bytes += this.index.get(key)?.size ?? 0;
      }
      if (bytes > 0) byPackage.push({ name, bytes });
    }
    byPackage.sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1));
    const fs = await statfs(this.dataDir);
    return {
      totalBytes: this.totalBytes,
      byKind: { ...this.views.totals },
      byPackage: byPackage.slice(0, topPackages),
      freeBytes: fs.bavail * fs.bsize,
      volumeBytes: fs.blocks * fs.bsize,
      // As `df` counts it: blocks reserved for root are neither free to us nor used by anyone.
      volumeUsedBytes: (fs.blocks - fs.bfree) * fs.bsize,
      sizeCapBytes,
    };
  }
}
