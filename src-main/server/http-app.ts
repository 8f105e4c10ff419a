// The one local HTTP server: Hex repository paths for clients, /metrics, and (later) the
// control API and dashboard under their own prefix.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

/** Answers a request before routing, or returns false to let the app route it. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createHttpApp(metrics: Metrics, fastPath?: FastPath): FastifyInstance {
  const app = Fastify({
    // Warm hits are answered before Fastify builds its request and reply objects: serving
    // speed is what a mirror is for, and those hits need none of the routing.
    serverFactory: (handler) => {
      const server = createServer((req, res) => {
        if (!fastPath?.(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = 65_000;
      server.requestTimeout = 120_000;
      return server;
    },
    logger: false,
    // HEX_MIRROR=https://m/ makes Hex ask for //packages/x (hex-protocol.md §4.1).
    routerOptions: { ignoreDuplicateSlashes: true, maxParamLength: 8192 },
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
    return503OnClosing: true,
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
