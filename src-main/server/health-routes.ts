// Liveness and readiness for load balancers and orchestrators.
//   GET /healthz  the process is up and answering (no I/O).
//   GET /readyz   storage reachable (503 if not); the upstream's state is reported too, but an
//                 unreachable upstream alone does not fail readiness: every instance would be
//                 taken out at once while they can all still serve the cache. `?strict` makes
//                 it count (for deployments that would rather fail over to another mirror).
import type { FastifyInstance } from 'fastify';
import type { UpstreamHealthView } from '../../src-shared/contract.js';
import type { ObjectStorage } from '../store/object-storage.js';

/** A burst of probes from several balancers costs one storage round trip. */
const PING_CACHE_MS = 2000;

export function registerHealthRoutes(
  app: FastifyInstance,
  deps: { storage: ObjectStorage; storageWritable: () => boolean; upstream: () => UpstreamHealthView },
): void {
  let last: { at: number; error?: string } | undefined;
  const storageError = async (): Promise<string | undefined> => {
    // Only a success is reused, and not once a write has failed since.
    if (last && !last.error && Date.now() - last.at < PING_CACHE_MS && deps.storageWritable()) return undefined;
    const error = await deps.storage.ping().then(
      () => undefined,
      (e: Error) => e.message || e.name,
    );
    last = { at: Date.now(), ...(error ? { error } : {}) };
    return error;
  };

  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/readyz', async (request, reply) => {
    const error = await storageError();
    const upstream = deps.upstream();
    const upstreamState = !upstream.enabled ? 'offline' : upstream.reachable === false ? 'unreachable' : 'ok';
    const strict = Object.hasOwn(request.query as object, 'strict');
    const ready = !error && (!strict || upstreamState !== 'unreachable');
    reply.code(ready ? 200 : 503).header('cache-control', 'no-store');
    return {
      status: ready ? (upstreamState === 'unreachable' ? 'degraded' : 'ready') : 'unavailable',
      storage: { backend: deps.storage.kind, location: deps.storage.location, state: error ? 'unreachable' : 'ok', ...(error ? { error } : {}) },
      upstream: { url: upstream.url, state: upstreamState, ...(upstream.lastError ? { lastError: upstream.lastError } : {}) },
    };
  });
}
