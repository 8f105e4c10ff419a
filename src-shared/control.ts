// One interface for everything the dashboard, the tray and the CLI ask of the mirror: a call per
// control API route. The engine implements it in process (src-main/control/control-service.ts);
// createApiClient implements it over HTTP. A caller holds a Control and need not know whether
// the engine runs in its own process or behind a server.
//
// CONTROL_ROUTES says, once, which route each call travels on and where its arguments go; the
// API client sends by it and the server's control routes receive by it, so the two ends cannot
// disagree (VS Code's ProxyChannel does the same for its IPC services, by method name).
import type {
  ApiRoute,
  ApiRoutes,
  CacheListQuery,
  CacheListResponse,
  DeleteResponse,
  ActivityEntry,
  CapPreview,
  Counters,
  DiskUsageResponse,
  JobView,
  LoginLink,
  PackageDetailResponse,
  PrewarmRequest,
  ServerEvent,
  SettingsPatch,
  SettingsResponse,
  SetupRequest,
  SetupResult,
  SetupState,
  StatusResponse,
  VerifyReport,
} from './contract.js';

export interface Control {
  /** Proof that the server knows the token (see src-main/control/access.ts serverProof); needs no credential. */
  proof(nonce: string): Promise<{ proof: string }>;
  /** A one-time dashboard sign-in link; only a running server has one. */
  loginLink(): Promise<LoginLink>;
  status(): Promise<StatusResponse>;
  listCache(query?: CacheListQuery): Promise<CacheListResponse>;
  package(name: string): Promise<PackageDetailResponse>;
  deleteRelease(name: string, version: string): Promise<DeleteResponse>;
  deletePackage(name: string): Promise<DeleteResponse>;
  clearCache(): Promise<DeleteResponse>;
  verify(): Promise<VerifyReport>;
  disk(): Promise<DiskUsageResponse>;
  /** What lowering the size cap to `sizeCapBytes` would evict (null: no cap); removes nothing. */
  capPreview(sizeCapBytes: number | null): Promise<CapPreview>;
  /** The activity log, newest first. */
  activity(limit?: number): Promise<ActivityEntry[]>;
  resetCounters(): Promise<Counters>;
  settings(): Promise<SettingsResponse>;
  updateSettings(patch: SettingsPatch): Promise<SettingsResponse>;
  jobs(): Promise<JobView[]>;
  job(id: string): Promise<JobView>;
  startPrewarm(request: PrewarmRequest): Promise<JobView>;
  cancelJob(id: string): Promise<JobView>;
  retryJob(id: string): Promise<JobView>;
  rerunJob(id: string): Promise<JobView>;
  clearFinishedJobs(): Promise<JobView[]>;
  setupState(mirrorUrl?: string): Promise<SetupState>;
  applySetup(request?: SetupRequest): Promise<SetupResult>;
  undoSetup(): Promise<SetupResult>;
  /**
   * Live events until `signal` aborts: a `hello` with the status once subscribed, and every
   * change after. `onState` says whether the subscription is connected.
   */
  events(onEvent: (event: ServerEvent) => void, signal: AbortSignal, onState?: (connected: boolean) => void): Promise<void>;
}

/** The calls that are one request and one answer (events are a stream, carried apart). */
export type ControlCall = Exclude<keyof Control, 'events'>;

/** What a call puts in its request. */
export interface RequestParts<R extends ApiRoute> {
  params?: Record<string, string>;
  query?: ApiRoutes[R]['query'];
  body?: ApiRoutes[R]['body'];
}

/** A request as the server received it: nothing in it is checked yet (the engine checks). */
export interface ReceivedRequest {
  params: Record<string, string | undefined>;
  query: Record<string, unknown>;
  body: unknown;
}

/** The routes whose answer is what the call returns. */
type RouteOf<C extends ControlCall> = { [R in ApiRoute]: ApiRoutes[R]['response'] extends Awaited<ReturnType<Control[C]>> ? R : never }[ApiRoute];

export interface Binding<C extends ControlCall> {
  route: RouteOf<C>;
  /** The caller's arguments into a request. */
  send(...args: Parameters<Control[C]>): RequestParts<RouteOf<C>>;
  /** A received request back into the call's arguments. */
  receive(request: ReceivedRequest): Parameters<Control[C]>;
}

const none = { send: () => ({}), receive: () => [] as [] };
const text = (value: unknown) => value as string;

export const CONTROL_ROUTES: { [C in ControlCall]: Binding<C> } = {
  proof: { route: 'POST /proof', send: (nonce) => ({ body: { nonce } }), receive: (r) => [text((r.body as { nonce?: unknown } | undefined)?.nonce)] },
  loginLink: { route: 'POST /login-links', ...none },
  status: { route: 'GET /status', ...none },
  listCache: { route: 'GET /cache', send: (query = {}) => ({ query }), receive: (r) => [r.query as CacheListQuery] },
  package: { route: 'GET /cache/:name', send: (name) => ({ params: { name } }), receive: (r) => [text(r.params.name)] },
  deleteRelease: {
    route: 'DELETE /cache/:name/:version',
    send: (name, version) => ({ params: { name, version } }),
    receive: (r) => [text(r.params.name), text(r.params.version)],
  },
  deletePackage: { route: 'DELETE /cache/:name', send: (name) => ({ params: { name } }), receive: (r) => [text(r.params.name)] },
  clearCache: { route: 'DELETE /cache', ...none },
  verify: { route: 'POST /verify', ...none },
  disk: { route: 'GET /disk', ...none },
  capPreview: {
    route: 'GET /disk/cap-preview',
    send: (sizeCapBytes) => ({ query: { sizeCapBytes: sizeCapBytes === null ? 'none' : String(sizeCapBytes) } }),
    receive: (r) => [r.query.sizeCapBytes === 'none' ? null : Number(r.query.sizeCapBytes)],
  },
  activity: {
    route: 'GET /activity',
    send: (limit) => ({ query: limit === undefined ? {} : { limit: String(limit) } }),
    receive: (r) => [r.query.limit === undefined ? undefined : Number(r.query.limit)],
  },
  resetCounters: { route: 'POST /counters/reset', ...none },
  settings: { route: 'GET /settings', ...none },
  updateSettings: { route: 'PATCH /settings', send: (patch) => ({ body: patch }), receive: (r) => [r.body as SettingsPatch] },
  jobs: { route: 'GET /jobs', ...none },
  job: { route: 'GET /jobs/:id', send: (id) => ({ params: { id } }), receive: (r) => [text(r.params.id)] },
  startPrewarm: { route: 'POST /jobs', send: (request) => ({ body: request }), receive: (r) => [r.body as PrewarmRequest] },
  cancelJob: { route: 'DELETE /jobs/:id', send: (id) => ({ params: { id } }), receive: (r) => [text(r.params.id)] },
  retryJob: { route: 'POST /jobs/:id/retry', send: (id) => ({ params: { id } }), receive: (r) => [text(r.params.id)] },
  rerunJob: { route: 'POST /jobs/:id/rerun', send: (id) => ({ params: { id } }), receive: (r) => [text(r.params.id)] },
  clearFinishedJobs: { route: 'DELETE /jobs', ...none },
  setupState: {
    route: 'GET /setup',
    send: (mirrorUrl) => ({ query: mirrorUrl ? { mirrorUrl } : {} }),
    receive: (r) => [r.query.mirrorUrl as string | undefined],
  },
  applySetup: { route: 'POST /setup', send: (request = {}) => ({ body: request }), receive: (r) => [(r.body ?? {}) as SetupRequest] },
  undoSetup: { route: 'POST /setup/undo', ...none },
};

export const CONTROL_CALLS = Object.keys(CONTROL_ROUTES) as ControlCall[];
