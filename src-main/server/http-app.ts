// The one local HTTP server: Hex repository paths for clients, /metrics, and (later) the
// control API and dashboard under their own prefix.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

export function createHttpApp(metrics: Metrics): FastifyInstance {
  const app = Fastify({
    logger: false,
    // HEX_MIRROR=https://m/ makes Hex ask for //packages/x (hex-protocol.md §4.1).
    routerOptions: { ignoreDuplicateSlashes: true, maxParamLength: 8192 },
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
    return503OnClosing: true,
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    requestTimeout: 120_000,
  });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store');
    return metrics.registry.metrics();
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(`not found: ${request.url.slice(0, 200)}\n`);
  });
  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    reply.code(status >= 400 ? status : 500).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(`${status < 500 ? (error as Error).message : 'internal error'}\n`);
  });
  return app;
}
