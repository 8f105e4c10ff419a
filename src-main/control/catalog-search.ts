// A package search answered from what this mirror has cached, for when hex.pm cannot be asked:
// the packages of the local catalog that match, as documents shaped like hex.pm's
// `GET /api/packages` entries (what `mix hex.search` and `mix hex.package search` print:
// name, description, latest stable release, URL). Releases come from the verified registry
// record where there is one; the description from a cached API answer of the package.
import { readFile } from 'node:fs/promises';
import type { Catalog } from './catalog.js';
import type { Term } from '../hex/external-term.js';
import { newestFirst } from '../hex/versions.js';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheIndex } from '../store/cache-index.js';
import { keys } from '../store/keys.js';
import type { RegistryService } from '../mirror/registry-service.js';
import type { CacheSortField } from '../../src-shared/contract.js';

/** hex.pm pages its package listing by 100. */
export const PAGE_SIZE = 100;
const MAX_PAGE = 10_000;
/** A cached API answer larger than this is not read for its description. */
const MAX_DOC_BYTES = 1024 * 1024;

export interface CatalogSearchDeps {
  catalog: Catalog;
  registry: RegistryService;
  store: BlobStore;
  index: CacheIndex;
  /** The API upstream's base (UPSTREAM_API_URL), for the documents' URLs. */
  apiUrl: string;
}

/** hex.pm's sort orders, as near as the catalog comes: downloads become hits on this mirror. */
function localSort(sort: string | null): { sort: CacheSortField; order: 'asc' | 'desc' } {
  if (sort === null || sort === 'name') return { sort: 'name', order: 'asc' };
  if (sort === 'inserted_at' || sort === 'updated_at') return { sort: 'fetched', order: 'desc' };
  return { sort: 'hits', order: 'desc' };
}

function pageOf(value: string | null): number {
  const page = Number(value ?? 1);
  return Number.isInteger(page) && page >= 1 && page <= MAX_PAGE ? page : 1;
}

/** A prerelease has a `-` before any build metadata (SemVer 2.0), which Hex does not call stable. */
function isStable(version: string): boolean {
  return !version.split('+', 1)[0]!.includes('-');
}

export async function searchCatalog(deps: CatalogSearchDeps, params: URLSearchParams): Promise<Term[]> {
  const { sort, order } = localSort(params.get('sort'));
  const listing = deps.catalog.list({
    q: (params.get('search') ?? '').trim().toLowerCase(),
    sort,
    order,
    page: pageOf(params.get('page')),
    pageSize: PAGE_SIZE,
  });
  return Promise.all(listing.items.map((item) => packageDocument(deps, item.name, item.versions)));
}

async function packageDocument(deps: CatalogSearchDeps, name: string, cachedVersions: string[]): Promise<Term> {
  const record = await deps.registry.storedRecord(name).catch(() => undefined);
  const releases = record
    ? [...record.releases].sort((a, b) => newestFirst(a.version, b.version))
    : cachedVersions.map((version) => ({ version, retired: undefined, publishedAt: undefined }));
  const url = `${deps.apiUrl}/packages/${name}`;
  // hex.pm's pages sit beside its API (https://hex.pm/api → https://hex.pm/packages/NAME).
  const site = deps.apiUrl.endsWith('/api') ? deps.apiUrl.slice(0, -'/api'.length) : undefined;
  const retirements: Record<string, Term> = {};
  for (const release of releases)
    if (release.retired) retirements[release.version] = { reason: release.retired.reason, message: release.retired.message ?? null };
  return {
    name,
    repository: 'hexpm',
    url,
    html_url: site ? `${site}/packages/${name}` : null,
    latest_version: releases[0]?.version ?? null,
    latest_stable_version: releases.find((r) => isStable(r.version))?.version ?? null,
    meta: { description: (await cachedDescription(deps, name)) ?? null, licenses: [], links: {} },
    releases: releases.map((r) => ({
      version: r.version,
      url: `${url}/releases/${r.version}`,
      // Whether the docs can be had now: from this mirror's cache.
      has_docs: deps.index.get(keys.docs(name, r.version)) !== undefined,
      inserted_at: r.publishedAt === undefined ? null : new Date(r.publishedAt * 1000).toISOString(),
    })),
    retirements,
  };
}

/** The description in a cached JSON answer of `/api/packages/NAME`, if there is one. */
async function cachedDescription(deps: CatalogSearchDeps, name: string): Promise<string | undefined> {
  const key = keys.api('json', name);
  const entry = deps.index.get(key);
  if (!entry || entry.size > MAX_DOC_BYTES) return undefined;
  try {
    const doc = JSON.parse(await readFile(deps.store.path(key), 'utf8')) as { meta?: { description?: unknown } };
    const description = doc.meta?.description;
    return typeof description === 'string' ? description.slice(0, 2000) : undefined;
  } catch {
    return undefined;
  }
}
