// The Hex repository paths that HEX_MIRROR / HEX_CDN clients use (the /api paths, for
// HEX_API_URL, are in api-routes.ts). Each handler validates its names, then hands the work
// to the registry, the revalidating cache or the release artifacts; route-kit.ts serves what
// they find.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { isPackageName, parseReleaseFile } from '../hex/names.js';
import { loadPublicKey } from '../hex/registry.js';
import type { Config } from '../config/config.js';
import type { Catalog } from '../control/catalog.js';
import { Problem } from '../core/problem.js';
import type { Metrics } from '../core/metrics.js';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheIndex } from '../store/cache-index.js';
import { keys, safeSegments } from '../store/keys.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import { registerApiRoutes } from './api-routes.js';
import { upstreamBase } from '../mirror/provenance.js';
import type { ReleaseArtifacts } from '../mirror/release-artifacts.js';
import type { RegistryService } from '../mirror/registry-service.js';
import { VerificationError, type RevalidatingCache } from '../mirror/revalidating-cache.js';
import { clientDeadlineOf, createRouteKit, type RouteKit } from './route-kit.js';

export interface RepositoryDeps {
  config: () => Config;
  registry: RegistryService;
  mutable: RevalidatingCache;
  releases: ReleaseArtifacts;
  store: BlobStore;
  index: CacheIndex;
  /** For the /api paths: the package search's local catalog, the API pass-through. */
  catalog: Catalog;
  upstream: UpstreamClient;
  metrics: Metrics;
  log: Logger;
}

const OCTET = 'application/octet-stream';

export function registerRepositoryRoutes(app: FastifyInstance, deps: RepositoryDeps): void {
  const kit = createRouteKit(app, deps);
  registerRegistryRoutes(kit, deps);
  registerReleaseRoutes(kit);
  registerUpstreamFileRoutes(kit, deps);
  registerApiRoutes(app, deps, kit);
  kit.get('/repos/*', async () => {
    throw new Problem('not_found', 'private organization repositories are not mirrored');
  });
}

/** /names, /versions and /packages/NAME: signed records, verified by the registry service. */
function registerRegistryRoutes(kit: RouteKit, { registry, config }: RepositoryDeps): void {
  const how = () => ({ kind: 'registry', contentType: OCTET, cacheControl: `public, max-age=${config().registryTtlSeconds}` });
  kit.get('/names', (req, res) => kit.serveCached(req, res, () => registry.names({ deadline: clientDeadlineOf(req) }), how()));
  kit.get('/versions', (req, res) => kit.serveCached(req, res, () => registry.versions({ deadline: clientDeadlineOf(req) }), how()));
  kit.get('/packages/:name', async (req, res, { name }) => {
    if (!isPackageName(name!)) throw new Problem('not_found', `"${name}" is not a Hex package name`);
    await kit.serveCached(req, res, () => registry.package(name!, { deadline: clientDeadlineOf(req) }), how());
  });
}

function registerReleaseRoutes(kit: RouteKit): void {
  kit.get('/tarballs/:file', async (req, res, { file }) => {
    const release = parseReleaseFile(file!, '.tar');
    if (!release) throw new Problem('not_found', `"${file}" is not a Hex tarball name (NAME-VERSION.tar)`);
    await kit.serveRelease(req, res, 'tarball', release.name, release.version);
  });
  kit.get('/docs/:file', async (req, res, { file }) => {
    const release = parseReleaseFile(file!, '.tar.gz');
    if (!release) throw new Problem('not_found', `"${file}" is not a Hex docs name (NAME-VERSION.tar.gz)`);
    await kit.serveRelease(req, res, 'docs', release.name, release.version);
  });
}

/** /public_key and /installs/…: unsigned files, trusted as the upstream they come from. */
function registerUpstreamFileRoutes(kit: RouteKit, { mutable, config }: RepositoryDeps): void {
  const verifyPublicKey = (body: Buffer) => {
    try {
      loadPublicKey(body.toString('utf8'));
    } catch {
      throw new VerificationError('upstream /public_key is not a PEM public key');
    }
  };
  kit.get('/public_key', (req, res) =>
    kit.serveCached(
      req,
      res,
      () =>
        mutable.get(kit.mutableSpec(keys.publicKey(), 'public_key', upstreamBase('public_key', config().upstream), '/public_key', verifyPublicKey), {
          deadline: clientDeadlineOf(req),
        }),
      {
        kind: 'public_key',
        contentType: 'text/plain; charset=utf-8',
        cacheControl: 'public, max-age=86400',
      },
    ),
  );

  kit.get('/installs/*', async (req, res, params) => {
    const segments = (params['*'] ?? '').split('/');
    if (!safeSegments(segments)) throw new Problem('not_found', `"/installs/${params['*']}" is not an installs path`);
    const key = keys.installs(segments);
    const spec = () => kit.mutableSpec(key, 'installs', upstreamBase('installs', config().upstream), `/installs/${segments.join('/')}`, () => undefined);
    await kit.serveCached(req, res, () => mutable.get(spec(), { deadline: clientDeadlineOf(req) }), {
      kind: 'installs',
      contentType: key.endsWith('.csv') ? 'text/csv' : OCTET,
      cacheControl: `public, max-age=${config().registryTtlSeconds}`,
    });
  });
}
