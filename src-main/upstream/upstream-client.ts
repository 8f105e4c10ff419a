// HTTP to the upstream repository (the hex_repo of this code base). It retries network
// errors and 5xx with backoff before a response is handed out, never decodes bodies
// (repo.hex.pm's gzip files are the bytes clients verify), and reports health.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import got, { type Request as GotRequest } from 'got';
import type { Logger } from 'pino';
import type { UpstreamConfig } from '../config/config.js';
import type { Metrics } from '../server/metrics.js';
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
    readonly reason: 'timeout' | 'network' | 'status' | 'offline' | 'too_large' | 'aborted',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

export interface UpstreamHealth {
  reachable: boolean | undefined;
  lastError?: string;
  lastErrorAt?: number;
  lastOkAt?: number;
  latencyMs?: number;
}

function describe(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const e = error as { code?: string; name?: string; message?: string };
  if (e.name === 'AbortError' || e.code === 'ERR_ABORTED') return new UpstreamError('aborted', 'request aborted');
  if (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT') return new UpstreamError('timeout', `upstream timed out (${e.message ?? ''})`);
  return new UpstreamError('network', `upstream unreachable: ${e.code ?? ''} ${e.message ?? String(error)}`.trim());
}

/** Requests in a row that end in a 5xx (after retries) before the upstream counts as unreachable. */
const UNREACHABLE_AFTER = 3;

export class UpstreamClient {
  readonly health: UpstreamHealth = { reachable: undefined };
  private failuresInARow = 0;
  private readonly listeners = new Set<(health: UpstreamHealth) => void>();

  constructor(
    private config: UpstreamConfig,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  updateConfig(config: UpstreamConfig): void {
    this.config = config;
  }

  get enabled(): boolean {
    return this.config.enabled;
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
      got(`${this.config.url}/names`, {
        method: 'HEAD',
        throwHttpErrors: false,
        retry: { limit: 0 },
        timeout: { request: this.config.timeoutMs },
        headers: { 'user-agent': USER_AGENT },
      }).then(
        (response) => response.statusCode < 500 && this.recordHealth(true, undefined, Math.round(performance.now() - started)),
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
      return;
    }
    this.health.reachable = ok;
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
      for (const listener of this.listeners) listener(this.health);
    }
  }

  /** One attempt: resolves once response headers arrive. */
  private attempt(url: string, options: OpenOptions): Promise<UpstreamResponse> {
    const t = this.config.timeoutMs;
    // A signal of its own per request: got keeps listening to the signal it is given even
    // after the body is done, and would then raise an error nobody handles.
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const request: GotRequest = got.stream(url, {
      decompress: false,
      throwHttpErrors: false,
      followRedirect: true,
      maxRedirects: 3,
      retry: { limit: 0 },
      timeout: { lookup: t, connect: t, secureConnect: t, response: t, socket: t },
      headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...options.headers },
      signal: controller.signal,
    });
    const unlink = () => options.signal?.removeEventListener('abort', onAbort);
    request.once('end', unlink).once('close', unlink).once('error', unlink);
    // Errors after the body was consumed (a late abort) have no reader left; drop them here.
    request.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      const onError = (error: unknown) => reject(describe(error));
      request.once('error', onError);
      request.once('response', (response: { statusCode: number; headers: IncomingHttpHeaders; url: string }) => {
        request.off('error', onError);
        resolve({ status: response.statusCode, headers: response.headers, body: request, url: response.url });
      });
    });
  }

  /**
   * GET with retries on network errors, timeouts and 5xx (honouring Retry-After).
   * 4xx and success are returned at once; the body has not been read.
   */
  async open(url: string, options: OpenOptions): Promise<UpstreamResponse> {
    if (!this.config.enabled) throw new UpstreamError('offline', 'upstream is disabled (offline mode)');
    const { retryAttempts, retryDelayMs, timeoutMs } = this.config;
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
          return response;
        }
        response.body.destroy();
        failure = new UpstreamError('status', `upstream answered ${response.status}`, response.status);
        waitMs = retryAfterMs(response.headers['retry-after']);
      } catch (error) {
        failure = describe(error);
        if (failure.reason === 'aborted') throw failure;
      }
      this.metrics.upstreamErrors.inc({ kind: options.kind, reason: failure.reason });
      const elapsed = Math.round(performance.now() - started);
      if (attempt >= retryAttempts || (waitMs !== undefined && waitMs > timeoutMs)) {
        this.log.warn({ event: 'upstream_fetch', url, kind: options.kind, outcome: 'failed', attempts: attempt + 1, error: failure.message, ms: elapsed }, 'upstream request failed');
        this.recordHealth(false, failure.message, undefined, failure.reason === 'status');
        throw failure;
      }
      const delay = waitMs ?? backoffDelay(attempt + 1, retryDelayMs);
      this.log.info({ event: 'upstream_retry', url, kind: options.kind, attempt: attempt + 1, error: failure.message, delayMs: delay }, 'retrying upstream request');
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
        const failure = describe(error);
        if (failure.reason === 'too_large' || failure.reason === 'aborted' || attempt >= this.config.retryAttempts) throw failure;
        this.metrics.upstreamErrors.inc({ kind: options.kind, reason: failure.reason });
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
    if (Number.isFinite(declared) && size !== declared) {
      throw new UpstreamError('network', `upstream body truncated: ${size} of ${declared} bytes`);
    }
    return Buffer.concat(chunks);
  }
}
