// The hex.pm API calls the mirror does not answer itself (publish, retire, owners, keys, short
// URLs from hex.outdated, organizations' packages, …): passed on to UPSTREAM_API_URL as the
// client made them (method, path, query, body and the headers that carry meaning, Authorization
// included), streamed both ways, never cached. With HEX_API_URL pointing at the mirror a Hex
// command then does what it does against hex.pm. Credentials go through but never into a log
// line; the client's cookies and the mirror's own headers stay here, and nothing the upstream
// says can set a cookie on the mirror's origin (the dashboard's) or open it to other origins.
import { messageOf } from '../../src-shared/problems.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Method } from 'got';
import type { Logger } from 'pino';
import { Problem } from '../core/problem.js';
import type { Metrics } from '../core/metrics.js';
import { REPOSITORY_HEADERS } from './respond.js';
import { problemKindOf, UpstreamError, type UpstreamClient } from '../upstream/upstream-client.js';

export const PASS_THROUGH_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Bodies either way. hex_core refuses package and docs tarballs over 16 MiB (hexpm takes less),
 * so a publish fits with room to spare; API answers are small.
 */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Request headers the API reads. Not Cookie, Origin, Host, hop-by-hop ones or the mirror's own. */
const REQUEST_HEADERS = new Set([
  'accept',
  'accept-language',
  'authorization',
  'content-type',
  'content-length',
  'user-agent',
  'if-none-match',
  'if-modified-since',
]);
/** Response headers passed back (plus Hex's x-hex-* and the rate limit's x-ratelimit-*). Not Set-Cookie, not CORS. */
const RESPONSE_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'content-disposition',
  'etag',
  'last-modified',
  'cache-control',
  'expires',
  'location',
  'www-authenticate',
  'retry-after',
  'vary',
]);

/** Longer request targets are refused: Hex's API paths are short, and a hostile one can be any size. */
export const MAX_TARGET_LENGTH = 2048;

/** Characters a path may carry as it is (RFC 3986 pchar and "/"); anything else is refused, not re-encoded. */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

/**
 * The part of a request target after `/api`, as it goes upstream, or undefined when it could
 * reach outside the upstream's API: a dot segment, encoded or not, would be resolved away by
 * the URL parser (`/api/../names` is `/names`), so none is passed on, nor NUL or separators
 * hidden in a segment.
 */
export function apiTarget(rawUrl: string): string | undefined {
  const q = rawUrl.indexOf('?');
  const path = (q < 0 ? rawUrl : rawUrl.slice(0, q)).replace(/\/{2,}/g, '/');
  const query = q < 0 ? '' : rawUrl.slice(q);
  if (path !== '/api' && !path.startsWith('/api/')) return undefined;
  const rest = path.slice('/api'.length);
  if (!PATH_CHARS.test(rest)) return undefined;
  for (const segment of rest.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    if (decoded === '.' || decoded === '..' || /[\0/\\]/.test(decoded)) return undefined;
  }
  return rest + query;
}

/** Counts what goes through and fails past `max`, so neither side can send without end. */
class ByteLimit extends Transform {
  bytes = 0;
  exceeded = false;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) {
      this.exceeded = true;
      done(new Error(`more than ${this.max} bytes`));
      return;
    }
    done(null, chunk);
  }
}

export interface PassThroughDeps {
  apiUrl: () => string;
  upstream: UpstreamClient;
  metrics: Metrics;
  log: Logger;
}

export async function passThrough(req: IncomingMessage, res: ServerResponse, deps: PassThroughDeps): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase() as Method;
  if ((req.url ?? '').length > MAX_TARGET_LENGTH) throw new Problem('too_long', `request target over ${MAX_TARGET_LENGTH} characters`);
  const target = apiTarget(req.url ?? '');
  if (target === undefined) throw new Problem('not_found', `"${(req.url ?? '').slice(0, 200)}" is not an API path the mirror passes on`);
  const base = deps.apiUrl();
  const url = base + target;
  // The URL as the client library will read it must still be under the API's base.
  if (!new URL(url).href.startsWith(`${new URL(base).href}`))
    throw new Problem('not_found', `"${(req.url ?? '').slice(0, 200)}" is not an API path the mirror passes on`);
  const path = target.split('?', 1)[0]!;
  if (!deps.upstream.enabled) throw new Problem('unavailable', `the upstream is disabled (offline mode): ${method} /api${path.slice(0, 200)} needs hex.pm`);

  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new Problem('too_large', `request body of ${declared} bytes is over the mirror's limit of ${MAX_BODY_BYTES}`);
  const hasBody = req.headers['transfer-encoding'] !== undefined || declared > 0;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || !(REQUEST_HEADERS.has(name) || name.startsWith('x-hex-'))) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  // GET and HEAD carry no body upstream; a method that may have one gets the client's, or none.
  const limit = new ByteLimit(MAX_BODY_BYTES);
  let body: ByteLimit | '' | undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    if (hasBody) {
      body = limit;
      pipeline(req, limit).catch(() => undefined);
    } else body = '';
  }
  if (body !== limit) delete headers['content-length'];

  const started = performance.now();
  const log = (outcome: string, extra: Record<string, unknown>) =>
    deps.log.info(
      { event: 'api_pass_through', method, path: path.slice(0, 200), outcome, ms: Math.round(performance.now() - started), ...extra },
      'API request passed through',
    );
  // The client going away ends the upstream request too.
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  let response;
  try {
    response = await deps.upstream.passThrough(url, { kind: 'api', method, headers, signal: gone.signal, ...(body !== undefined ? { body } : {}) });
  } catch (error) {
    if (limit.exceeded) throw new Problem('too_large', `request body over the mirror's limit of ${MAX_BODY_BYTES} bytes`);
    const failure = error instanceof UpstreamError ? error : new UpstreamError('network', String(error));
    log('error', { error: failure.message });
    if (failure.reason === 'aborted') return;
    throw new Problem(problemKindOf(failure), `the upstream API failed for ${method} /api${path.slice(0, 200)}: ${failure.message}`);
  }

  const answer: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && (RESPONSE_HEADERS.has(name) || name.startsWith('x-hex-') || name.startsWith('x-ratelimit-'))) answer[name] = value;
  }
  res.writeHead(response.status, { ...answer, ...REPOSITORY_HEADERS, 'x-hexhub-cache': 'PASS' });
  const counted = new ByteLimit(MAX_BODY_BYTES);
  try {
    await pipeline(response.body, counted, res);
    log('passed', { status: response.status, bytes: counted.bytes });
  } catch (error) {
    // Headers are out: the client sees the transfer cut short, never a complete wrong body.
    log('cut', { status: response.status, bytes: counted.bytes, error: counted.exceeded ? `answer over ${MAX_BODY_BYTES} bytes` : messageOf(error) });
    res.destroy();
  }
  deps.metrics.bytesServed.inc({ kind: 'api' }, counted.bytes);
  deps.metrics.usage.add('bytesServed', counted.bytes);
}
