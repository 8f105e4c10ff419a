// The control API under /-/api: the routes of src-shared/contract.ts, each behind the
// access guard. Errors are JSON ({error, message, fields?}) so the dashboard can show them
// next to the field they concern.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  API_PREFIX,
  type ApiRoute,
  type ApiRoutes,
  type ErrorBody,
  type JobView,
  type LoginLink,
  type PrewarmRequest,
  type ServerEvent,
  type SetupRequest,
  type SetupResult,
  type SetupState,
  type SettingsPatch,
  type SettingsResponse,
  type StatusResponse,
  type UpstreamChange,
} from '../../src-shared/contract.js';
import { isPackageName, isVersion } from '../hex/names.js';
import { HttpError } from '../server/http-error.js';
import { SetupError } from '../setup/machine-setup.js';
import type { AccessGuard } from './access.js';
import type { CacheAdmin } from './cache-admin.js';
import { CatalogError, type Catalog } from './catalog.js';
import type { EventBus } from './event-bus.js';

/** A refused request body: field-level messages. */
export class ValidationError extends Error {
  constructor(
    readonly fields: Partial<Record<string, string>>,
    message = 'some values are not valid',
  ) {
    super(message);
  }
}

/** A change of the upstream's URL or key that the request did not confirm (409, with both identities). */
export class ConfirmationRequired extends Error {
  constructor(readonly change: UpstreamChange) {
    super(
      `changing the upstream from ${change.from.url} (key ${change.from.fingerprint}) to ${change.to.url} (key ${change.to.fingerprint}) must be confirmed: send confirmUpstreamChange with the new url and fingerprint`,
    );
  }
}

export interface JobControl {
  list(): JobView[];
  get(id: string): JobView | undefined;
  start(request: PrewarmRequest): Promise<JobView>;
  cancel(id: string): JobView | undefined;
}

export interface SetupControl {
  state(mirrorUrl?: string): Promise<SetupState>;
  apply(request: SetupRequest): Promise<SetupResult>;
  undo(): Promise<SetupResult>;
}

export interface ControlDeps {
  guard: AccessGuard;
  /** A one-time dashboard sign-in link. */
  loginLink(): LoginLink;
  /** This server's answer to a CLI's challenge (see access.ts serverProof). */
  proof(nonce: string): string;
  status(): Promise<StatusResponse>;
  catalog: Catalog;
  admin: CacheAdmin;
  settings(): SettingsResponse;
  updateSettings(patch: SettingsPatch): Promise<SettingsResponse>;
  sizeCap(): number | null;
  jobs: JobControl;
  setup: SetupControl;
  events: EventBus;
  log: Logger;
}

function errorBody(error: string, message: string, fields?: Partial<Record<string, string>>): ErrorBody {
  return { error, message, ...(fields ? { fields } : {}) };
}

const HEARTBEAT_MS = 15_000;

export function registerControlRoutes(app: FastifyInstance, deps: ControlDeps): void {
  app.register(
    async (api) => {
      api.addHook('onRequest', async (request) => {
        deps.guard.checkOrigin(request.raw);
        // The challenge is how a CLI finds out whether this server knows the token before
        // sending it; it needs no credential and reveals none.
        if (request.method === 'POST' && request.url === `${API_PREFIX}/proof`) return;
        deps.guard.checkAuth(request.raw);
      });

      api.setErrorHandler((error: unknown, _request, reply) => {
        const send = (status: number, body: ErrorBody) => reply.code(status).header('cache-control', 'no-store').send(body);
        if (error instanceof ValidationError) return send(422, errorBody('validation_failed', error.message, error.fields));
        if (error instanceof ConfirmationRequired) return send(409, { ...errorBody('confirmation_required', error.message), upstreamChange: error.change });
        if (error instanceof CatalogError) return send(400, errorBody('bad_query', error.message, error.fields));
        if (error instanceof SetupError) return send(409, errorBody('setup_refused', error.message));
        if (error instanceof HttpError) return send(error.status, errorBody(error.status === 401 ? 'unauthorized' : error.status === 403 ? 'forbidden' : 'error', error.message));
        const e = error as { statusCode?: number; message?: string; code?: string };
        if (e.statusCode && e.statusCode < 500) return send(e.statusCode, errorBody(e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'too_large' : 'bad_request', e.message ?? 'bad request'));
        deps.log.error({ err: error }, 'control API error');
        return send(500, errorBody('internal', 'internal error'));
      });

      api.addHook('onSend', async (_request, reply) => {
        reply.header('cache-control', 'no-store');
      });

      /** Typed route: the handler's return type is the contract's response type. */
      const route = <R extends ApiRoute>(
        spec: R,
        handler: (request: FastifyRequest, reply: FastifyReply) => Promise<ApiRoutes[R]['response']> | ApiRoutes[R]['response'],
      ) => {
        const [method, path] = spec.split(' ') as [string, string];
        api.route({ method: method as 'GET', url: path, handler: async (request, reply) => handler(request, reply) });
      };

      const packageName = (request: FastifyRequest): string => {
        const { name } = request.params as { name: string };
        if (!isPackageName(name)) throw new HttpError(400, `"${name}" is not a Hex package name`);
        return name;
      };

      route('POST /proof', (request) => {
        const nonce = (request.body as { nonce?: unknown } | undefined)?.nonce;
        if (typeof nonce !== 'string' || !/^[0-9a-f]{32,128}$/.test(nonce)) throw new ValidationError({ nonce: 'expected 32 to 128 lowercase hex digits' });
        return { proof: deps.proof(nonce) };
      });
      route('POST /login-links', () => deps.loginLink());
      route('GET /status', () => deps.status());
      route('GET /cache', (request) => deps.catalog.list(request.query as Record<string, string>));
      route('DELETE /cache', () => deps.admin.deleteAll());
      route('GET /cache/:name', async (request) => {
        const name = packageName(request);
        const detail = await deps.catalog.detail(name);
        if (!detail) throw new HttpError(404, `nothing of ${name} is cached`);
        return detail;
      });
      route('DELETE /cache/:name', (request) => deps.admin.deletePackage(packageName(request)));
      route('DELETE /cache/:name/:version', (request) => {
        const name = packageName(request);
        const { version } = request.params as { version: string };
        if (!isVersion(version)) throw new HttpError(400, `"${version}" is not a version`);
        return deps.admin.deleteRelease(name, version);
      });
      route('POST /verify', () => deps.admin.verify());
      route('GET /disk', () => deps.catalog.disk(deps.sizeCap()));
      route('GET /settings', () => deps.settings());
      route('PATCH /settings', (request) => {
        const body = request.body;
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError({}, 'expected a JSON object of settings');
        return deps.updateSettings(body as SettingsPatch);
      });
      route('GET /jobs', () => deps.jobs.list());
      route('POST /jobs', (request) => {
        const body = request.body;
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError({}, 'expected a JSON pre-warm request');
        return deps.jobs.start(body as PrewarmRequest);
      });
      route('GET /jobs/:id', (request) => {
        const job = deps.jobs.get((request.params as { id: string }).id);
        if (!job) throw new HttpError(404, 'no such job');
        return job;
      });
      route('DELETE /jobs/:id', (request) => {
        const job = deps.jobs.cancel((request.params as { id: string }).id);
        if (!job) throw new HttpError(404, 'no such job');
        return job;
      });

      route('GET /setup', (request) => deps.setup.state((request.query as { mirrorUrl?: string }).mirrorUrl));
      route('POST /setup', (request) => deps.setup.apply((request.body ?? {}) as SetupRequest));
      route('POST /setup/undo', () => deps.setup.undo());

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
        const send = (event: ServerEvent) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        const unsubscribe = deps.events.subscribe(send);
        void deps.status().then((status) => send({ type: 'hello', status }));
        const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
        request.raw.on('close', () => {
          clearInterval(heartbeat);
          unsubscribe();
        });
      });
    },
    { prefix: API_PREFIX },
  );
}
