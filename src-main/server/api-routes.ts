// hex.pm's HTTP API through the mirror, so HEX_API_URL can point here (protocol doc §4.4):
// - package and release lookups (`/api/packages/NAME[/releases/VERSION]`, also under
//   `/api/repos/hexpm/`, the same resource) kept and revalidated like registry records, per
//   content type, with the upstream's Content-Type, Last-Modified and x-hex-message;
// - the package search and listing (`/api/packages?search=…`), kept briefly and answered from
//   the local catalog when the upstream cannot be asked (api-search.ts);
// - the original HexHub download endpoints (`…/releases/VERSION/download`, `…/docs/download`),
//   through the verified tarball and docs caches;
// - everything else, any method, passed through uncached (api-pass-through.ts): publishing,
//   owners, keys, short URLs, and other organizations' repositories under `/api/repos/ORG/`,
//   whose answers depend on the caller's credentials.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPackageName, isVersion } from '../hex/names.js';
import { Problem } from '../core/problem.js';
import { sendError } from './respond.js';
import { keys } from '../store/keys.js';
import { PASS_THROUGH_METHODS, passThrough } from './api-pass-through.js';
import { ApiSearch } from './api-search.js';
import { API_TYPES, isApiType, keptApiHeaders, variantOf } from '../mirror/api-types.js';
import { upstreamBase } from '../mirror/provenance.js';
import { VerificationError, type MutableSpec } from '../mirror/revalidating-cache.js';
import type { RepositoryDeps } from './repository-routes.js';
import { clientDeadlineOf, type RouteKit } from './route-kit.js';

/** What the API routes need of the repository routes' dependencies. */
export type ApiDeps = Omit<RepositoryDeps, 'releases'>;

export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps, kit: RouteKit): void {
  const { log } = deps;
  const apiUrl = () => upstreamBase('api', deps.config().upstream);
  const search = new ApiSearch({ ...deps, apiUrl });

  async function serveApi(req: IncomingMessage, res: ServerResponse, name: string, version?: string): Promise<void> {
    if (!isPackageName(name)) throw new Problem('not_found', `"${name}" is not a Hex package name`);
    if (version !== undefined && !isVersion(version)) throw new Problem('not_found', `"${version}" is not a version`);
    const variant = variantOf(req.headers.accept);
    const contentType = API_TYPES[variant];
    const path = version === undefined ? `/packages/${name}` : `/packages/${name}/releases/${version}`;
    const verify: MutableSpec['verify'] = (_body, headers) => {
      if (!isApiType(String(headers['content-type'] ?? ''), contentType)) {
        throw new VerificationError(`upstream API answered ${String(headers['content-type'])}, expected ${contentType}`);
      }
    };
    const spec: MutableSpec = {
      ...kit.mutableSpec(keys.api(variant, name, version), 'api', apiUrl(), path, verify, { accept: contentType }),
      label: version === undefined ? `package ${name}` : `release ${name} ${version}`,
      keep: (headers) => keptApiHeaders(headers, contentType),
    };
    await kit.serveCached(req, res, () => deps.mutable.get(spec, { deadline: clientDeadlineOf(req) }), {
      kind: 'api',
      contentType,
      cacheControl: `public, max-age=${deps.config().registryTtlSeconds}`,
      vary: 'accept',
    });
  }

  // hexpm's own repository under /api/repos/hexpm/ is the same resource as without the prefix.
  for (const prefix of ['/api', '/api/repos/hexpm']) {
    kit.get(`${prefix}/packages`, (req, res) => {
      const q = (req.url ?? '').indexOf('?');
      return search.serve(req, res, variantOf(req.headers.accept), q < 0 ? '' : (req.url ?? '').slice(q + 1));
    });
    kit.get(`${prefix}/packages/:name`, (req, res, { name }) => serveApi(req, res, name!));
    kit.get(`${prefix}/packages/:name/releases/:version`, (req, res, { name, version }) => serveApi(req, res, name!, version!));
  }

  const release = (name: string, version: string) => {
    if (!isPackageName(name) || !isVersion(version)) throw new Problem('not_found', `"${name}" ${version} is not a Hex release`);
  };
  kit.get('/api/packages/:name/releases/:version/download', async (req, res, { name, version }) => {
    release(name!, version!);
    await kit.serveRelease(req, res, 'tarball', name!, version!);
  });
  kit.get('/api/packages/:name/releases/:version/docs/download', async (req, res, { name, version }) => {
    release(name!, version!);
    await kit.serveRelease(req, res, 'docs', name!, version!);
  });

  // Everything else under /api, in a context of its own: the body is the upstream's to read,
  // so no parser here consumes it (and none refuses a content type it does not know).
  void app.register(async (api) => {
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      try {
        // No client deadline: a publish may take as long as its upload does; the upstream
        // client's own timeouts bound every wait.
        await passThrough(request.raw, reply.raw, { apiUrl, upstream: deps.upstream, metrics: deps.metrics, log });
      } catch (error) {
        if (!(error instanceof Problem)) log.error({ err: error, method: request.method, path: request.url.split('?', 1)[0] }, 'unexpected error');
        sendError(reply.raw, error instanceof Problem ? error : new Problem('internal', 'internal error'));
      }
    };
    api.route({ method: [...PASS_THROUGH_METHODS], url: '/api', handler });
    api.route({ method: [...PASS_THROUGH_METHODS], url: '/api/*', handler });
  });
}
