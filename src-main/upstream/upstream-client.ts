// HTTP to the upstream repository (the hex_repo of this code base). It retries network
// errors and 5xx with backoff before a response is handed out, never decodes bodies
// (repo.hex.pm's gzip files are the bytes clients verify), and reports health.
//
// What an upstream can do to the mirror is bounded here, once, for every caller: a capped
// number of connections (AGENT_OPTIONS; the rest wait their turn), redirects followed only
// within the origin asked, and every body held to a minimum average rate (UPSTREAM_MIN_RATE)
// once UPSTREAM_TIMEOUT has passed, so no key waits on an upstream forever.
import { Agent as HttpAgent, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import got, { type Got, type Method, type Options as GotOptions, type PlainResponse, type Request as GotRequest } from 'got';
import type { Logger } from 'pino';
import type { ProblemKind } from '../../src-shared/problems.js';
import type { UpstreamConfig } from '../config/config.js';
import type { Metrics } from '../core/metrics.js';
import { backoffDelay, retryAfterMs, sleep } from './backoff.js';

export const USER_AGENT = 'hexhub/0.1 (+https://github.com/hexhub)';

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The raw body; the caller must consume or destroy it. */
  body: Readable;
  url: string;
}

export interface OpenOptions {
  /** Metric/log label: registry, tarball, docs, installs, api, public_key. */
  kind: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class UpstreamError extends Error {
  constructor(
    readonly reason: 'timeout' | 'network' | 'status' | 'offline' | 'too_large' | 'aborted' | 'redirect',
    message: string,
    readonly status?: number,
    /** The system error behind a network failure (ECONNREFUSED, …). */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/** What an upstream failure means for the client waiting on it. */
export function problemKindOf(failure: UpstreamError): ProblemKind {
  if (failure.reason === 'timeout') return 'upstream_timeout';
  if (failure.reason === 'offline' || failure.reason === 'aborted') return 'unavailable';
  return 'upstream_failed';
}

/**
 * A body that fell below the minimum rate. Callers neither retry nor resume it: an upstream
 * that slow stays slow, and another attempt would only restart the clock for every waiter.
 */
export class SlowBodyError extends UpstreamError {
  constructor(bytes: number, ms: number, floor: number) {
    super('timeout', `upstream body too slow: ${bytes} bytes in ${(ms / 1000).toFixed(1)} s, under the minimum of ${floor} bytes/s (UPSTREAM_MIN_RATE)`);
    this.name = 'SlowBodyError';
  }
}

export type UpstreamState = 'unknown' | 'reachable' | 'degraded' | 'unreachable';

export interface UpstreamHealth {
  reachable: boolean | undefined;
  /**
   * degraded: an attempt failed and requests are being retried, or some end in 5xx but not
   * yet enough in a row to call it unreachable. Shown at once, since clients are waiting.
   */
  state: UpstreamState;
  lastError?: string;
  lastErrorAt?: number;
  lastOkAt?: number;
  latencyMs?: number;
}

/** Any failure of an upstream request or body as an UpstreamError (got wraps the errors a body is destroyed with). */
export function asUpstreamError(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const e = error as { code?: string; name?: string; message?: string; cause?: unknown };
  if (e.cause instanceof UpstreamError) return e.cause;
  if (e.name === 'AbortError' || e.code === 'ERR_ABORTED') return new UpstreamError('aborted', 'request aborted');
  if (e.code === 'ERR_TOO_MANY_REDIRECTS') return new UpstreamError('redirect', `upstream redirected more than ${MAX_REDIRECTS} times; not followed`);
  if (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT') return new UpstreamError('timeout', `upstream timed out (${e.message ?? ''})`);
  return new UpstreamError('network', `upstream unreachable: ${e.code ?? ''} ${e.message ?? String(error)}`.trim(), undefined, e.code);
}

/** Network errors that mean the upstream was not reached at all. */
const NOT_REACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN']);

/** Requests in a row that end in a 5xx (after retries) before the upstream counts as unreachable. */
const UNREACHABLE_AFTER = 3;

/**
 * Same-origin redirects followed per request. repo.hex.pm, builds.hex.pm and hex.pm's API
 * answer without redirects; two covers a moved path plus a trailing-slash hop, and a loop ends
 * after three requests.
 */
const MAX_REDIRECTS = 2;

/**
 * Upstream connections. Every socket is a descriptor, and without a cap a burst of misses (a
 * web page can fire thousands of no-cors fetches at the mirror) opens as many as it likes;
 * past the cap requests wait in the agent's queue, each until a socket ahead of it ends, which
 * its timeout and the minimum rate bound.
 * - 48 per origin: mix and rebar3 fetch about 8 at a time and pre-warm defaults to 8, so this
 *   serves several machines' cold misses at once; more parallel downloads from one CDN add
 *   no throughput.
 * - 64 in all: the repository cannot take every socket from the builds and API origins, and
 *   the upstream side stays far below common descriptor limits (1024 on Linux, 256 on macOS),
 *   leaving the rest to clients and the cache's files.
 * - Kept alive (a TLS handshake costs more than most registry bodies); up to 8 idle per origin,
 *   closed after 4 s, before the 5 s keep-alive of Node servers and many proxies, so a request
 *   rarely lands on a socket the server is closing (that case is retried as a network error).
 */
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 48, maxTotalSockets: 64, maxFreeSockets: 8, timeout: 4000 };

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The URL a redirect points to, read the way got reads it; undefined if it is not a URL. */
function redirectTarget(location: string, base: string): URL | undefined {
  try {
    return new URL(Buffer.from(location, 'binary').toString(), base);
  } catch {
    return undefined;
  }
}

interface Attempt extends UpstreamResponse {
  /** A redirect to another origin, not followed: where it pointed. */
  refusedRedirect?: string;
}

export class UpstreamClient {
  readonly health: UpstreamHealth = { reachable: undefined, state: 'unknown' };
  private failuresInARow = 0;
  private readonly listeners = new Set<(health: UpstreamHealth) => void>();
  private readonly agents = { http: new HttpAgent(AGENT_OPTIONS), https: new HttpsAgent(AGENT_OPTIONS) };
  /**
   * got with what every upstream request shares, merged once (and again when the settings
   * change) rather than for each request: on a cold miss that merge is time the client waits.
   */
  private got: Got;

  constructor(
    private config: UpstreamConfig,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.got = this.instance();
  }

  updateConfig(config: UpstreamConfig): void {
    this.config = config;
    this.got = this.instance();
  }

  private instance(): Got {
    const t = this.config.timeoutMs;
    return got.extend({
      agent: this.agents,
      decompress: false,
      throwHttpErrors: false,
      retry: { limit: 0 },
      timeout: { lookup: t, connect: t, secureConnect: t, response: t, socket: t },
      headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' },
    });
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Whether the upstream is known to be unreachable now (not merely never asked). */
  get unreachable(): boolean {
    return this.config.enabled && this.health.reachable === false;
  }

  /** How long a client waits for the upstream when the store has an answer (HEXHUB_REVALIDATE_BUDGET). */
  get revalidateBudgetMs(): number {
    return this.config.revalidateBudgetMs;
  }

  /** Closes idle upstream connections (those in use end with their requests). */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private probeTimer: NodeJS.Timeout | undefined;

  /**
   * While the upstream is unreachable, asks it every `intervalMs` whether it is back (a
   * HEAD of /names; any HTTP answer will do), so health recovers without waiting for a
   * client to need something uncached.
   */
  watchHealth(intervalMs: number): () => void {
    const tick = () => {
      if (this.health.reachable !== false || !this.config.enabled) return;
      const started = performance.now();
      this.got(`${this.config.url}/names`, {
        method: 'HEAD',
        // Any answer will do, a redirect included; never go elsewhere to get one.
        followRedirect: false,
        timeout: { request: this.config.timeoutMs },
      }).then(
        (response: PlainResponse) => response.statusCode < 500 && this.recordHealth(true, undefined, Math.round(performance.now() - started)),
        () => undefined,
      );
    };
    this.probeTimer = setInterval(tick, intervalMs);
    this.probeTimer.unref();
    return () => clearInterval(this.probeTimer);
  }

  onHealthChange(listener: (health: UpstreamHealth) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `answered`: the upstream did answer (with a 5xx), as opposed to not being reached at all. */
  private recordHealth(ok: boolean, detail?: string, latencyMs?: number, answered = false): void {
    const was = this.health.reachable;
    // A flapping upstream (every other answer a 503) mostly serves once retried: requests that
    // still end in 5xx make it unreachable only several in a row, so the state does not flip on
    // each one. Not being reached at all (refused, timed out) counts at once.
    this.failuresInARow = ok ? 0 : this.failuresInARow + 1;
    if (!ok && answered && was !== false && this.failuresInARow < UNREACHABLE_AFTER) {
      this.health.lastError = detail;
      this.health.lastErrorAt = Date.now();
      this.setState('degraded');
      return;
    }
    this.health.reachable = ok;
    const stateChanged = this.health.state !== (ok ? 'reachable' : 'unreachable');
    this.health.state = ok ? 'reachable' : 'unreachable';
    if (ok) {
      this.health.lastOkAt = Date.now();
      if (latencyMs !== undefined) this.health.latencyMs = latencyMs;
    } else {
      this.health.lastError = detail;
      this.health.lastErrorAt = Date.now();
    }
    if (was !== ok) {
      if (ok) this.log.info({ event: 'upstream_health', reachable: true }, 'upstream reachable');
      else this.log.warn({ event: 'upstream_health', reachable: false, error: detail }, 'upstream unreachable');
    }
    if (was !== ok || stateChanged) this.notifyHealth();
  }

  /** An attempt failed and is being retried: clients are waiting, so health says so now, not after the retries. */
  private retrying(detail: string): void {
    this.health.lastError = detail;
    this.health.lastErrorAt = Date.now();
    // Known unreachable stays so until something gets through.
    if (this.health.state !== 'unreachable') this.setState('degraded');
  }

  private setState(state: UpstreamState): void {
    if (this.health.state === state) return;
    this.health.state = state;
    if (state === 'degraded') this.log.warn({ event: 'upstream_health', state, error: this.health.lastError }, 'upstream degraded; retrying');
    this.notifyHealth();
  }

  private notifyHealth(): void {
    for (const listener of this.listeners) listener(this.health);
  }

  /** One attempt: resolves once response headers arrive. */
  private attempt(url: string, options: OpenOptions): Promise<Attempt> {
    const origin = new URL(url).origin;
    // A signal of its own per request: got keeps listening to the signal it is given even
    // after the body is done, and would then raise an error nobody handles.
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const request: GotRequest = this.got.stream(url, {
      // Another origin is never asked: the upstream (or whoever can answer for it) could point
      // the mirror at any host, internal ones included, and have the answer stored and served
      // back. The scheme counts too, so an https upstream is not downgraded to http. (got also
      // asks this of every final response, so it must stay a plain predicate.)
      followRedirect: (response: PlainResponse) => {
        const { location } = response.headers;
        return REDIRECT_STATUSES.has(response.statusCode) && location !== undefined && redirectTarget(location, response.url)?.origin === origin;
      },
      maxRedirects: MAX_REDIRECTS,
      ...(options.headers ? { headers: options.headers } : {}),
      signal: controller.signal,
    });
    const unlink = () => options.signal?.removeEventListener('abort', onAbort);
    request.once('end', unlink).once('close', unlink).once('error', unlink);
    // Errors after the body was consumed (a late abort) have no reader left; drop them here.
    request.on('error', () => undefined);
    request.on('redirect', (next: GotOptions, response: PlainResponse) => {
      this.metrics.upstreamRedirects.inc({ kind: options.kind, outcome: 'followed' });
      this.log.info(
        { event: 'upstream_redirect', kind: options.kind, outcome: 'followed', status: response.statusCode, from: response.url, to: String(next.url) },
        'following a same-origin upstream redirect',
      );
    });
    // An upstream that takes connections but never answers (a dead VPN, a captive portal)
    // shows within the revalidation budget, not after the whole retry loop: from then on the
    // mirror answers from its store at once.
    const budget = this.config.revalidateBudgetMs;
    const unanswered = budget > 0 ? setTimeout(() => this.recordHealth(false, `no answer from the upstream within ${budget} ms`), budget) : undefined;
    unanswered?.unref();
    return new Promise((resolve, reject) => {
      const onError = (error: unknown) => {
        clearTimeout(unanswered);
        const failure = asUpstreamError(error);
        if (failure.reason === 'redirect') {
          this.metrics.upstreamRedirects.inc({ kind: options.kind, outcome: 'too_many' });
          this.log.warn({ event: 'upstream_redirect', kind: options.kind, outcome: 'too_many', url }, failure.message);
        }
        reject(failure);
      };
      request.once('error', onError);
      request.once('response', (response: { statusCode: number; headers: IncomingHttpHeaders; url: string }) => {
        clearTimeout(unanswered);
        request.off('error', onError);
        this.holdToMinimumRate(request, options.kind, url);
        // A redirect that comes out here is one the predicate above turned down.
        const { location } = response.headers;
        const refused =
          REDIRECT_STATUSES.has(response.statusCode) && location !== undefined ? (redirectTarget(location, response.url)?.href ?? location) : undefined;
        resolve({
          status: response.statusCode,
          headers: response.headers,
          body: request,
          url: response.url,
          ...(refused !== undefined ? { refusedRedirect: refused } : {}),
        });
      });
    });
  }

  /**
   * The overall deadline of a body, as a rate: once UPSTREAM_TIMEOUT has passed since the
   * headers, the bytes read must average at least UPSTREAM_MIN_RATE per second, or the body is
   * destroyed with a SlowBodyError. The idle timeout alone lets a byte every few seconds hold
   * a key, and everyone waiting for it, forever. It also ends a body nobody reads.
   */
  private holdToMinimumRate(body: GotRequest, kind: string, url: string): void {
    const { timeoutMs: graceMs, minBytesPerSecond: floor } = this.config;
    const started = performance.now();
    const timer = setInterval(
      () => {
        const ms = performance.now() - started;
        const bytes = body.downloadProgress.transferred;
        if (ms < graceMs || bytes >= (floor * ms) / 1000) return;
        clearInterval(timer);
        const error = new SlowBodyError(bytes, ms, floor);
        this.metrics.upstreamErrors.inc({ kind, reason: 'too_slow' });
        this.metrics.usage.add('upstreamFailedAttempts');
        this.log.warn({ event: 'upstream_too_slow', kind, url, bytes, ms: Math.round(ms), minBytesPerSecond: floor }, error.message);
        body.destroy(error);
      },
      // Checked often enough to end within about a quarter of the grace period past it.
      Math.min(1000, Math.max(25, graceMs / 4)),
    );
    timer.unref();
    const stop = () => clearInterval(timer);
    body.once('end', stop).once('close', stop).once('error', stop);
  }

  /** Ends a redirect to another origin: its body is dropped and the caller told why. */
  private refuseRedirect(url: string, kind: string, response: Attempt): never {
    response.body.destroy();
    this.metrics.upstreamRedirects.inc({ kind, outcome: 'refused' });
    const message = `upstream redirected to another origin (${response.refusedRedirect}); not followed`;
    this.log.warn({ event: 'upstream_redirect', kind, outcome: 'refused', status: response.status, from: url, to: response.refusedRedirect }, message);
    throw new UpstreamError('redirect', message, response.status);
  }

  /**
   * GET with retries on network errors, timeouts and 5xx (honouring Retry-After).
   * 4xx and success are returned at once; the body has not been read.
   */
  async open(url: string, options: OpenOptions): Promise<UpstreamResponse> {
    if (!this.config.enabled) throw new UpstreamError('offline', 'upstream is disabled (offline mode)');
    const { retryDelayMs, timeoutMs } = this.config;
    // Known to be down: one try, so a client learns it as fast as it would going direct (the
    // health probe and any answer that gets through bring the retries back).
    const retryAttempts = this.unreachable ? 0 : this.config.retryAttempts;
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      let failure: UpstreamError;
      let waitMs: number | undefined;
      try {
        const response = await this.attempt(url, options);
        const latency = performance.now() - started;
        this.metrics.upstreamLatency.observe({ kind: options.kind }, latency / 1000);
        this.metrics.upstreamRequests.inc({ kind: options.kind, status: String(response.status) });
        if (response.status < 500) {
          this.recordHealth(true, undefined, Math.round(latency));
          if (response.refusedRedirect !== undefined) this.refuseRedirect(url, options.kind, response);
          return response;
        }
        response.body.destroy();
        failure = new UpstreamError('status', `upstream answered ${response.status}`, response.status);
        waitMs = retryAfterMs(response.headers['retry-after']);
      } catch (error) {
        failure = asUpstreamError(error);
        // A redirect refused is the upstream's answer, not a failure to get one: not retried.
        if (failure.reason === 'aborted' || failure.reason === 'redirect') throw failure;
        // Not reached at all (refused, no route, timed out): known at once, not after the
        // retries, so other requests answer from the store meanwhile; a retry that gets through
        // says otherwise. (A reset of a reused keep-alive connection is routine: only retried.)
        if (failure.reason === 'timeout' || (failure.code !== undefined && NOT_REACHED.has(failure.code))) this.recordHealth(false, failure.message);
      }
      this.metrics.upstreamErrors.inc({ kind: options.kind, reason: failure.reason });
      this.metrics.usage.add('upstreamFailedAttempts');
      const elapsed = Math.round(performance.now() - started);
      if (attempt >= retryAttempts || (waitMs !== undefined && waitMs > timeoutMs)) {
        this.log.warn(
          { event: 'upstream_fetch', url, kind: options.kind, outcome: 'failed', attempts: attempt + 1, error: failure.message, ms: elapsed },
          'upstream request failed',
        );
        this.metrics.usage.requestFailed(failure);
        this.recordHealth(false, failure.message, undefined, failure.reason === 'status');
        throw failure;
      }
      this.retrying(failure.message);
      const delay = waitMs ?? backoffDelay(attempt + 1, retryDelayMs);
      this.log.info(
        { event: 'upstream_retry', url, kind: options.kind, attempt: attempt + 1, error: failure.message, delayMs: delay },
        'retrying upstream request',
      );
      await sleep(delay, options.signal);
    }
  }

  /** GET a whole (small) body into memory; a body cut off mid-way is retried like a failed request. */
  async fetchBuffer(url: string, options: OpenOptions & { maxBytes: number }): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.open(url, options);
      try {
        return { status: response.status, headers: response.headers, body: await this.readBody(response, options) };
      } catch (error) {
        const failure = asUpstreamError(error);
        if (failure.reason === 'aborted') throw failure;
        // A slow body's attempt was counted where it was cut off.
        if (!(failure instanceof SlowBodyError)) this.metrics.usage.add('upstreamFailedAttempts');
        if (failure.reason === 'too_large' || failure instanceof SlowBodyError || attempt >= this.config.retryAttempts) {
          this.metrics.usage.requestFailed(failure);
          throw failure;
        }
        this.metrics.upstreamErrors.inc({ kind: options.kind, reason: failure.reason });
        this.retrying(failure.message);
        this.log.info({ event: 'upstream_retry', url, kind: options.kind, attempt: attempt + 1, error: failure.message }, 'retrying upstream body');
        await sleep(backoffDelay(attempt + 1, this.config.retryDelayMs), options.signal);
      }
    }
  }

  private async readBody(response: UpstreamResponse, options: OpenOptions & { maxBytes: number }): Promise<Buffer> {
    const declared = Number(response.headers['content-length'] ?? NaN);
    if (declared > options.maxBytes) {
      response.body.destroy();
      throw new UpstreamError('too_large', `upstream body of ${declared} bytes exceeds the ${options.maxBytes}-byte limit`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.maxBytes) {
        response.body.destroy();
        throw new UpstreamError('too_large', `upstream body exceeds the ${options.maxBytes}-byte limit`);
      }
      chunks.push(chunk);
    }
    this.metrics.upstreamBytes.inc({ kind: options.kind }, size);
    this.metrics.usage.add('upstreamBytes', size);
    if (Number.isFinite(declared) && size !== declared) {
      throw new UpstreamError('network', `upstream body truncated: ${size} of ${declared} bytes`);
    }
    return Buffer.concat(chunks);
  }

  // ---- Pass-through: the hex.pm API calls the mirror does not answer itself (mirror/api-pass-through.ts)

  /**
   * One request passed on as the client made it: any method, its body streamed from `body`
   * ('' for none). Never retried (a streamed body cannot be replayed, and a publish must not
   * happen twice), and a redirect is the client's to follow: it comes back as it is, so no
   * other origin is ever asked by the mirror. The connection cap, timeouts and the response
   * body's minimum rate are those of every upstream request. Health is left alone: this is
   * the API's upstream, not the repository's, and a refused publish says nothing about either.
   */
  async passThrough(url: string, options: OpenOptions & { method: Method; body?: Readable | '' }): Promise<UpstreamResponse> {
    if (!this.config.enabled) throw new UpstreamError('offline', 'upstream is disabled (offline mode)');
    const started = performance.now();
    // A signal of its own, as in attempt(): got keeps listening to the one it is given.
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const request: GotRequest = this.got.stream(url, {
      method: options.method,
      followRedirect: false,
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
      signal: controller.signal,
    });
    const unlink = () => options.signal?.removeEventListener('abort', onAbort);
    request.once('end', unlink).once('close', unlink).once('error', unlink);
    // Errors after the body was consumed (a late abort) have no reader left; drop them here.
    request.on('error', () => undefined);
    const response = await new Promise<{ statusCode: number; headers: IncomingHttpHeaders; url: string }>((resolve, reject) => {
      const onError = (error: unknown) => reject(asUpstreamError(error));
      request.once('error', onError);
      request.once('response', (r: { statusCode: number; headers: IncomingHttpHeaders; url: string }) => {
        request.off('error', onError);
        resolve(r);
      });
    }).catch((failure: UpstreamError) => {
      this.metrics.upstreamErrors.inc({ kind: options.kind, reason: failure.reason });
      if (failure.reason !== 'aborted') {
        this.metrics.usage.add('upstreamFailedAttempts');
        this.metrics.usage.requestFailed(failure);
      }
      throw failure;
    });
    this.metrics.upstreamLatency.observe({ kind: options.kind }, (performance.now() - started) / 1000);
    this.metrics.upstreamRequests.inc({ kind: options.kind, status: String(response.statusCode) });
    this.holdToMinimumRate(request, options.kind, url);
    return { status: response.statusCode, headers: response.headers, body: request, url: response.url };
  }
}
