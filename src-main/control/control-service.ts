// The Control (src-shared/control.ts) implemented once, over the engine's parts. The HTTP
// control API (control-routes.ts) is an adapter over this object, and the CLI and the desktop
// app call it directly when they run the engine themselves, so every check here (names,
// versions, request bodies, confirmation of a new upstream) holds whichever way a call comes.
import type { JobView, LoginLink, PrewarmRequest, ServerEvent, SettingsPatch, SettingsResponse, StatusResponse } from '../../src-shared/contract.js';
import type { Control } from '../../src-shared/control.js';
import { applySettingsPatch, parseSizeCap, withSettings } from '../config/config.js';
import { upstreamChange, type LiveConfig } from '../config/live-config.js';
import { isPackageName, isVersion } from '../hex/names.js';
import { Problem } from '../core/problem.js';
import type { ActivityLog } from './activity-log.js';
import type { CacheAdmin } from './cache-admin.js';
import { capPreview } from './cap-preview.js';
import type { Catalog } from './catalog.js';
import type { CountersStore } from './counters-store.js';
import { ConfirmationRequired, ValidationError } from '../core/validation-errors.js';
import type { EventBus } from './event-bus.js';
import type { SetupCalls } from './setup-calls.js';
import type { CacheIndex } from '../store/cache-index.js';
import { messageOf } from '../../src-shared/problems.js';

export interface JobControl {
  list(): JobView[];
  get(id: string): JobView | undefined;
  start(request: PrewarmRequest): Promise<JobView>;
  cancel(id: string): JobView | undefined;
  retry(id: string): JobView | undefined;
  rerun(id: string): Promise<JobView | undefined>;
  clearFinished(): JobView[];
}

/** What only a listening server can do: it holds the sign-in sessions and knows its port. */
export interface ServerCalls {
  loginLink(): LoginLink;
  /** This server's answer to a CLI's challenge (see access.ts serverProof). */
  proof(nonce: string): string;
}

export interface ControlDeps {
  config: LiveConfig;
  catalog: Catalog;
  admin: CacheAdmin;
  index: CacheIndex;
  jobs: JobControl;
  events: EventBus;
  activity: Pick<ActivityLog, 'list'>;
  counters: Pick<CountersStore, 'reset'>;
  status(): Promise<StatusResponse>;
  settings(): SettingsResponse;
  setup: SetupCalls;
  /** The running server; undefined while the engine is not listening (a CLI command's own engine). */
  server(): ServerCalls | undefined;
}

function packageName(name: string): string {
  if (!isPackageName(name)) throw new Problem('bad_request', `"${name}" is not a Hex package name`);
  return name;
}

function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Problem('not_found', what);
  return value;
}

function requireObject(body: unknown, message: string): void {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError({}, message);
}

/** A cap to preview, checked as saving it would be (parseSizeCap), so the preview is of a cap that can be saved. */
function previewedCap(value: unknown): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new ValidationError({ sizeCapBytes: 'must be a whole number of bytes, 0 or more; "none" (or 0) for no cap' });
  try {
    return parseSizeCap(value);
  } catch (error) {
    throw new ValidationError({ sizeCapBytes: messageOf(error) });
  }
}

async function updateSettings(deps: ControlDeps, patch: SettingsPatch): Promise<SettingsResponse> {
  requireObject(patch, 'expected a JSON object of settings');
  const { confirmUpstreamChange, ...fields } = patch;
  const config = deps.config.current;
  const result = applySettingsPatch(config, fields);
  if (result.errors) throw new ValidationError(result.errors);
  // The upstream decides what every build on the machine gets: a change of its URL or key
  // is applied only as confirmed (the dashboard shows both fingerprints), and announced.
  const change = upstreamChange(config.upstream, withSettings(config, result.settings).upstream);
  if (change && (confirmUpstreamChange?.url !== change.to.url || confirmUpstreamChange.fingerprint !== change.to.fingerprint))
    throw new ConfirmationRequired(change);
  await deps.config.apply(result.settings, Object.keys(fields));
  return deps.settings();
}

/** In process, the event stream is a subscription to the bus, opened with the same `hello` the HTTP stream sends. */
async function followEvents(
  deps: ControlDeps,
  onEvent: (event: ServerEvent) => void,
  signal: AbortSignal,
  onState?: (connected: boolean) => void,
): Promise<void> {
  if (signal.aborted) return;
  const unsubscribe = deps.events.subscribe(onEvent);
  onState?.(true);
  void deps.status().then((status) => signal.aborted || onEvent({ type: 'hello', status }));
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  unsubscribe();
}

export function createControl(deps: ControlDeps): Control {
  const server = (): ServerCalls => {
    const running = deps.server();
    if (!running) throw new Error('the mirror is not started');
    return running;
  };
  return {
    async proof(nonce) {
      // The challenge is how a CLI finds out whether this server knows the token before sending
      // it; its answer reveals nothing, but the nonce is bounded and checked like any input.
      if (typeof nonce !== 'string' || !/^[0-9a-f]{32,128}$/.test(nonce)) throw new ValidationError({ nonce: 'expected 32 to 128 lowercase hex digits' });
      return { proof: server().proof(nonce) };
    },
    loginLink: async () => server().loginLink(),
    status: () => deps.status(),
    listCache: async (query = {}) => deps.catalog.list(query),
    package: async (name) => found(await deps.catalog.detail(packageName(name)), `nothing of ${name} is cached`),
    async deleteRelease(name, version) {
      packageName(name);
      if (!isVersion(version)) throw new Problem('bad_request', `"${version}" is not a version`);
      return deps.admin.deleteRelease(name, version);
    },
    deletePackage: async (name) => deps.admin.deletePackage(packageName(name)),
    clearCache: () => deps.admin.deleteAll(),
    verify: () => deps.admin.verify(),
    disk: () => deps.catalog.disk(deps.config.current.sizeCapBytes),
    capPreview: async (sizeCapBytes) => capPreview(deps.admin, deps.index, deps.catalog, previewedCap(sizeCapBytes)),
    activity: async (limit) => deps.activity.list(limit),
    resetCounters: () => deps.counters.reset(),
    settings: async () => deps.settings(),
    updateSettings: (patch) => updateSettings(deps, patch),
    jobs: async () => deps.jobs.list(),
    job: async (id) => found(deps.jobs.get(id), 'no such job'),
    async startPrewarm(request) {
      requireObject(request, 'expected a JSON pre-warm request');
      return deps.jobs.start(request);
    },
    cancelJob: async (id) => found(deps.jobs.cancel(id), 'no such job'),
    retryJob: async (id) => found(deps.jobs.retry(id), 'no such job'),
    rerunJob: async (id) => found(await deps.jobs.rerun(id), 'no such job'),
    clearFinishedJobs: async () => deps.jobs.clearFinished(),
    ...deps.setup,
    events: (onEvent, signal, onState) => followEvents(deps, onEvent, signal, onState),
  };
}
