// The control API under /-/api: each call of the Control (src-shared/control.ts) on the route
// CONTROL_ROUTES gives it, behind the access guard, and the event stream as Server-Sent
// Events. The calls themselves, with their checks, are control-service.ts; this file only
// carries them over HTTP. Errors are JSON ({error, message, fields?}) so the dashboard can
// show them next to the field they concern.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { API_PREFIX, type ErrorBody, type ServerEvent } from '../../src-shared/contract.js';
import { CONTROL_CALLS, CONTROL_ROUTES, type Control, type ReceivedRequest } from '../../src-shared/control.js';
import { STATUS_OF } from '../../src-shared/problems.js';
import { Problem } from '../core/problem.js';
import { ConfirmationRequired } from '../core/validation-errors.js';
import type { AccessGuard } from './access.js';

export interface ControlRouteDeps {
  guard: AccessGuard;
  control: Control;
  log: Logger;
}

/** A Problem as JSON: its kind, its message and what the caller needs to act on (fields, setup's problems, the upstream change). */
function errorBody(problem: Problem): ErrorBody {
  const { fields, problems } = problem as { fields?: Partial<Record<string, string>>; problems?: string[] };
  return {
    error: problem.kind,
    message: problem.message,
    ...(fields ? { fields } : {}),
    ...(problems ? { problems } : {}),
    ...(problem instanceof ConfirmationRequired ? { upstreamChange: problem.change } : {}),
  };
}

function sendError(error: unknown, reply: FastifyReply, log: Logger): FastifyReply {
  const send = (problem: Problem) => reply.code(STATUS_OF[problem.kind]).header('cache-control', 'no-store').send(errorBody(problem));
  if (error instanceof Problem) return send(error);
  // fastify's own refusals of a request it could not parse.
  const e = error as { statusCode?: number; message?: string; code?: string };
  if (e.statusCode && e.statusCode < 500)
    return send(new Problem(e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'too_large' : 'bad_request', e.message ?? 'bad request'));
  log.error({ err: error }, 'control API error');
  return send(new Problem('internal', 'internal error'));
}

const HEARTBEAT_MS = 15_000;

function registerEventStream(api: FastifyInstance, control: Control): void {
  api.get('/events', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    const head = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' };
    // HEAD: node never sends a body, so a stream would only hold the connection open.
    if (request.method === 'HEAD') {
      res.writeHead(200, head).end();
      return;
    }
    res.writeHead(200, { ...head, connection: 'keep-alive' });
    res.flushHeaders();
    const closed = new AbortController();
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      closed.abort();
    });
    void control.events((event: ServerEvent) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`), closed.signal);
  });
}

export function registerControlRoutes(app: FastifyInstance, deps: ControlRouteDeps): void {
  const { control } = deps;
  app.register(
    async (api) => {
      api.addHook('onRequest', async (request) => {
        deps.guard.checkOrigin(request.raw);
        // The challenge is how a CLI finds out whether this server knows the token before
        // sending it; it needs no credential and reveals none.
        if (request.method === 'POST' && request.url === `${API_PREFIX}/proof`) return;
        deps.guard.checkAuth(request.raw);
      });
      api.setErrorHandler((error: unknown, _request, reply) => sendError(error, reply, deps.log));
      api.addHook('onSend', async (_request, reply) => {
        reply.header('cache-control', 'no-store');
      });

      for (const name of CONTROL_CALLS) {
        const { route, receive } = CONTROL_ROUTES[name] as { route: string; receive(request: ReceivedRequest): unknown[] };
        const call = control[name] as (...args: unknown[]) => Promise<unknown>;
        const [method, url] = route.split(' ') as ['GET', string];
        api.route({
          method,
          url,
          handler: (request) =>
            call.apply(
              control,
              receive({
                params: (request.params ?? {}) as ReceivedRequest['params'],
                query: (request.query ?? {}) as ReceivedRequest['query'],
                body: request.body,
              }),
            ),
        });
      }
      registerEventStream(api, control);
    },
    { prefix: API_PREFIX },
  );
}
