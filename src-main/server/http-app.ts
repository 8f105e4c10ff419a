// The one local HTTP server: Hex repository paths for clients, /metrics, and (later) the
// control API and dashboard under their own prefix.
import { messageOf } from '../../src-shared/problems.js';
import { STATUS_CODES, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../core/metrics.js';
import { REPOSITORY_HEADERS } from './respond.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Answers a request before routing, or returns false to let the app route it. Having taken
 * it, it may still hand it to `routed` later, as long as nothing was sent (a read that failed).
 */
export type FastPath = (req: IncomingMessage, res: ServerResponse, routed: Handler) => boolean;

/**
 * Bounds on what one client can hold: a slow or hostile client (slowloris, piles of idle
 * connections, huge headers) costs a bounded amount and never starves the others.
 */
export interface HttpLimits {
  /** Whole request head must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** Whole request, body included. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A connection with no traffic at all (not even a response being written) is closed after this. */
  idleSocketTimeoutMs: number;
  /** How often the server checks the two request timeouts. */
  checkIntervalMs: number;
  /** Header bytes per request; more gets 431. */
  maxHeaderBytes: number;
  /** Open connections; more are refused at accept. */
  maxConnections: number;
  /** JSON bodies of the control API; more gets 413. */
  bodyLimitBytes: number;
}

export const defaultHttpLimits: HttpLimits = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 65_000,
  idleSocketTimeoutMs: 120_000,
  checkIntervalMs: 5_000,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 4096,
  bodyLimitBytes: 1024 * 1024,
};

/**
 * Requests that arrive before the mirror is ready (it listens before its index is read) wait
 * until the gate opens; if starting fails instead, they get a 503.
 */
export class StartGate {
  private pending: Promise<void> | undefined;
  private settle: { open(): void; fail(): void } | undefined;

  constructor(closed = false) {
    if (closed) this.pending = new Promise<void>((resolve, reject) => (this.settle = { open: resolve, fail: reject }));
    // Nobody may be waiting when it fails.
    this.pending?.catch(() => undefined);
  }

  /** Undefined once open: the common case costs one property read. */
  get waiting(): Promise<void> | undefined {
    return this.pending;
  }

  open(): void {
    this.settle?.open();
    this.pending = undefined;
  }

  fail(): void {
    this.settle?.fail();
  }
}

export function createHttpApp(metrics: Metrics, fastPath?: FastPath, overrides: Partial<HttpLimits> = {}, gate = new StartGate()): FastifyInstance {
  const limits = { ...defaultHttpLimits, ...overrides };
  const app = Fastify({
    // Warm hits are answered before Fastify builds its request and reply objects: serving
    // speed is what a mirror is for, and those hits need none of the routing.
    serverFactory: (handler) => {
      const server = createServer(
        {
          maxHeaderSize: limits.maxHeaderBytes,
          headersTimeout: limits.headersTimeoutMs,
          requestTimeout: limits.requestTimeoutMs,
          keepAliveTimeout: limits.keepAliveTimeoutMs,
          connectionsCheckingInterval: limits.checkIntervalMs,
        },
        (req, res) => {
          const waiting = gate.waiting;
          if (waiting) {
            waiting.then(
              () => fastPath?.(req, res, handler) || handler(req, res),
              () => res.writeHead(503, { 'content-type': 'text/plain', connection: 'close', 'retry-after': '5' }).end('HexHub could not start\n'),
            );
            return;
          }
          if (!fastPath?.(req, res, handler)) handler(req, res);
        },
      );
      server.maxConnections = limits.maxConnections;
      // A socket that neither sends nor receives (a stalled download reader included) is let go.
      server.setTimeout(limits.idleSocketTimeoutMs, (socket) => socket.destroy());
      return server;
    },
    // Requests the HTTP parser refuses (bad bytes, oversized heads, slow heads) get a bare status
    // with "Connection: close" and no body, so a keep-alive client does not reuse a connection
    // being closed, and a HEAD client is not handed a body it cannot parse.
    clientErrorHandler: (error, socket) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
        socket.destroy();
        return;
      }
      const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    },
    logger: false,
    // HEX_MIRROR=https://m/ makes Hex ask for //packages/x (hex-protocol.md §4.1).
    routerOptions: { ignoreDuplicateSlashes: true, maxParamLength: 8192 },
    bodyLimit: limits.bodyLimitBytes,
    forceCloseConnections: true,
    return503OnClosing: true,
  });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store');
    return metrics.registry.metrics();
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .headers({ 'cache-control': 'no-store', ...REPOSITORY_HEADERS })
      .type('text/plain; charset=utf-8')
      .send(`not found: ${request.url.slice(0, 200)}\n`);
  });
  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    reply
      .code(status >= 400 ? status : 500)
      .headers({ 'cache-control': 'no-store', ...REPOSITORY_HEADERS })
      .type('text/plain; charset=utf-8')
      .send(`${status < 500 ? messageOf(error) : 'internal error'}\n`);
  });
  return app;
}
