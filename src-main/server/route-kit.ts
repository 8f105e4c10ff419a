// What every repository route shares (the Hex paths in repository-routes.ts, the API paths
// in api-routes.ts): a GET/HEAD route on the raw request within the client's deadline, the
// one way a cached copy is served, a release's tarball or docs served with a live download
// behind it, and the spec of a plain mutable resource.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { Problem } from '../core/problem.js';
import { HttpSink } from './http-sink.js';
import { sendError } from './respond.js';
import type { CachedCopy } from '../mirror/cached-copy.js';
import type { ClientDeadline } from '../mirror/client-deadline.js';
import { ARTIFACT_SERVING, type ReleaseArtifacts } from '../mirror/release-artifacts.js';
import type { MutableSpec } from '../mirror/revalidating-cache.js';
import { serveCached, type ServeDeps, type Serving } from './serve-cached.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void>;

export interface RouteKitDeps extends ServeDeps {
  config: () => Config;
  releases: ReleaseArtifacts;
}

export interface RouteKit {
  /** A GET/HEAD route whose handler works on the raw request, within the client's deadline. */
  get(path: string, handler: Handler): void;
  serveCached(req: IncomingMessage, res: ServerResponse, find: () => Promise<CachedCopy | undefined>, how: Serving): Promise<void>;
  /** A release's tarball or docs: the stored copy, or a download streamed to this client. */
  serveRelease(req: IncomingMessage, res: ServerResponse, what: 'tarball' | 'docs', name: string, version: string): Promise<void>;
  /** `base`: the upstream the resource comes from, which is what a stored copy is trusted under. */
  mutableSpec(key: string, kind: string, base: string, path: string, verify: MutableSpec['verify'], headers?: Record<string, string>): MutableSpec;
}

/** Registry bodies, API answers and installs files are small; this bounds a hostile one. */
const SMALL_MAX = 64 * 1024 * 1024;

/** Each routed request's deadline, set as it arrives (see client-deadline.ts). */
const deadlines = new WeakMap<IncomingMessage, number>();

/** When the client of `req` stops waiting for the upstream: its routed request's deadline. */
export function clientDeadlineOf(req: IncomingMessage): ClientDeadline {
  return deadlines.get(req);
}

export function createRouteKit(app: FastifyInstance, deps: RouteKitDeps): RouteKit {
  const { releases, log } = deps;

  /** Runs a handler on the raw request/response, turning failures into plain-text errors. */
  const route = (handler: Handler) => async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    const { raw: req } = request;
    const res = reply.raw;
    try {
      // However the upstream behaves, the client hears back before its own timeout.
      deadlines.set(req, Date.now() + deps.config().upstream.missBudgetMs);
      await handler(req, res, request.params as Record<string, string>);
    } catch (error) {
      if (!(error instanceof Problem)) log.error({ err: error, url: req.url }, 'unexpected error');
      sendError(res, error instanceof Problem ? error : new Problem('internal', 'internal error'));
    }
  };

  const kit: RouteKit = {
    get: (path, handler) => app.route({ method: ['GET', 'HEAD'], url: path, handler: route(handler) }),
    serveCached: (req, res, find, how) => serveCached(deps, req, res, find, how),
    serveRelease(req, res, what, name, version) {
      // The route edge is where a download meets HTTP: the caches only see the sink.
      const sink = new HttpSink(res, clientDeadlineOf(req));
      const find = what === 'tarball' ? () => releases.findTarball(name, version, sink) : () => releases.findDocs(name, version, sink);
      return kit.serveCached(req, res, find, ARTIFACT_SERVING[what]);
    },
    mutableSpec: (key, kind, base, path, verify, headers) => ({
      key,
      kind,
      url: base + path,
      trust: base,
      ttlMs: deps.config().registryTtlSeconds * 1000,
      maxBytes: SMALL_MAX,
      verify,
      ...(headers ? { headers } : {}),
    }),
  };
  return kit;
}
