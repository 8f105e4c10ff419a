// The Hex repository paths that HEX_MIRROR / HEX_CDN clients use (the /api paths, for
// HEX_API_URL, are in api-routes.ts). Each handler validates its names, then hands the work
// to the registry, the revalidating cache or the artifact cache.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isPackageName, parseReleaseFile } from '../hex/names.js';
import { loadPublicKey } from '../hex/registry.js';
import type { Config } from '../config/config.js';
import type { Catalog } from '../control/catalog.js';
import { HttpError } from '../server/http-error.js';
import type { Metrics } from '../server/metrics.js';
import { sendBody, sendError, sendStored, staleHeaders } from '../server/respond.js';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheIndex } from '../store/cache-index.js';
import { keys, safeSegments } from '../store/keys.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import { registerApiRoutes } from './api-routes.js';
import { withClientDeadline } from './client-deadline.js';
import { upstreamBase } from './provenance.js';
import type { ReleaseArtifacts } from './release-artifacts.js';
import type { RegistryService } from './registry-service.js';
import { VerificationError, type MutableResult, type MutableSpec, type RevalidatingCache } from './revalidating-cache.js';

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
const SMALL_MAX = 64 * 1024 * 1024;

export function registerRepositoryRoutes(app: FastifyInstance, deps: RepositoryDeps): void {
  const { registry, mutable, releases, index, metrics, log } = deps;
  const ttl = () => deps.config().registryTtlSeconds;

  /** Runs a handler on the raw request/response, turning failures into plain-text errors. */
  const route = (handler: (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      const { raw: req } = request;
      const res = reply.raw;
      try {
        // However the upstream behaves, the client hears back before its own timeout.
        await withClientDeadline(deps.config().upstream.missBudgetMs, () => handler(req, res, request.params as Record<string, string>));
      } catch (error) {
        if (!(error instanceof HttpError)) log.error({ err: error, url: req.url }, 'unexpected error');
        sendError(res, error instanceof HttpError ? error : new HttpError(500, 'internal error'));
      }
    };

  const get = (path: string, handler: Parameters<typeof route>[0]) => app.route({ method: ['GET', 'HEAD'], url: path, handler: route(handler) });

  /** Serves a mutable resource; a stored file found damaged is dropped and fetched again once. */
  async function serveMutable(
    req: IncomingMessage,
    res: ServerResponse,
    load: () => Promise<MutableResult>,
    how: { kind: string; contentType: string; cacheControl: string; vary?: string },
  ): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await load();
      const stale = result.state === 'STALE';
      const { entry } = result;
      const response = {
        // What the upstream said, where it was kept (API answers), over the resource's own.
        contentType: entry.contentType ?? how.contentType,
        cacheControl: stale ? 'no-cache' : how.cacheControl,
        cacheState: result.state,
        extraHeaders: {
          ...(how.vary ? { vary: how.vary } : {}),
          ...(entry.hexMessage !== undefined ? { 'x-hex-message': entry.hexMessage } : {}),
          ...(stale ? staleHeaders(result.staleReason ?? 'upstream failed') : {}),
        },
      };
      const { sent, bytes } = result.unstored
        ? sendBody(req, res, result.entry, result.unstored, response)
        : await sendStored(req, res, deps.store, result.key, result.entry, response);
      if (sent) {
        if (!result.unstored) index.touch(result.entry);
        if (result.state === 'MISS') metrics.misses.inc({ kind: how.kind });
        else metrics.hits.inc({ kind: how.kind });
        metrics.bytesServed.inc({ kind: how.kind }, bytes);
        return;
      }
      log.warn({ event: 'damaged_object', key: result.key }, 'stored object missing or of the wrong size; fetching it again');
      metrics.damagedObjects.inc({ kind: how.kind, found_by: 'serving' });
      index.delete(result.key);
    }
    throw new HttpError(502, 'stored object could not be read');
  }

  const registryHow = () => ({ kind: 'registry', contentType: OCTET, cacheControl: `public, max-age=${ttl()}` });

  get('/names', (req, res) => serveMutable(req, res, () => registry.names(), registryHow()));
  get('/versions', (req, res) => serveMutable(req, res, () => registry.versions(), registryHow()));
  get('/packages/:name', async (req, res, { name }) => {
    if (!isPackageName(name!)) throw new HttpError(404, `"${name}" is not a Hex package name`);
    await serveMutable(req, res, () => registry.package(name!), registryHow());
  });

  get('/tarballs/:file', async (req, res, { file }) => {
    const release = parseReleaseFile(file!, '.tar');
    if (!release) throw new HttpError(404, `"${file}" is not a Hex tarball name (NAME-VERSION.tar)`);
    await releases.serveTarball(req, res, release.name, release.version);
  });
  get('/docs/:file', async (req, res, { file }) => {
    const release = parseReleaseFile(file!, '.tar.gz');
    if (!release) throw new HttpError(404, `"${file}" is not a Hex docs name (NAME-VERSION.tar.gz)`);
    await releases.serveDocs(req, res, release.name, release.version);
  });

  /** `base`: the upstream the resource comes from, which is what a stored copy is trusted under. */
  const mutableSpec = (key: string, kind: string, base: string, path: string, verify: MutableSpec['verify'], headers?: Record<string, string>): MutableSpec => ({
    key,
    kind,
    url: base + path,
    trust: base,
    ttlMs: ttl() * 1000,
    maxBytes: SMALL_MAX,
    verify,
    ...(headers ? { headers } : {}),
  });

  get('/public_key', (req, res) =>
    serveMutable(
      req,
      res,
      () =>
        mutable.get(
          mutableSpec(keys.publicKey(), 'public_key', upstreamBase('public_key', deps.config().upstream), '/public_key', (body) => {
            try {
              loadPublicKey(body.toString('utf8'));
            } catch {
              throw new VerificationError('upstream /public_key is not a PEM public key');
            }
          }),
        ),
      { kind: 'public_key', contentType: 'text/plain; charset=utf-8', cacheControl: 'public, max-age=86400' },
    ),
  );

  get('/installs/*', async (req, res, params) => {
    const segments = (params['*'] ?? '').split('/');
    if (!safeSegments(segments)) throw new HttpError(404, `"/installs/${params['*']}" is not an installs path`);
    const key = keys.installs(segments);

    const contentType = key.endsWith('.csv') ? 'text/csv' : OCTET;
    await serveMutable(
      req,
      res,
      () => mutable.get(mutableSpec(key, 'installs', upstreamBase('installs', deps.config().upstream), `/installs/${segments.join('/')}`, () => undefined)),
      { kind: 'installs', contentType, cacheControl: `public, max-age=${ttl()}` },
    );
  });

  registerApiRoutes(app, deps, { get, serveMutable, mutableSpec });

  get('/repos/*', async () => {
    throw new HttpError(404, 'private organization repositories are not mirrored');
  });
}
