// `GET /api/packages?search=…` (mix hex.package search, hex.search, rebar3 hex search): the
// upstream's answer, kept a minute per query and content type (a search is often repeated at
// once, and a minute-old result list is as good as a new one); when the upstream is disabled or
// cannot be reached, an answer from the packages this mirror has cached, saying so
// (X-HexHub-Offline-Search, and an x-hex-message that mix prints), rather than an error.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SingleFlight } from '../core/single-flight.js';
import { encodeTerm } from '../hex/external-term.js';
import { Problem } from '../core/problem.js';
import type { Metrics } from '../core/metrics.js';
import { REPOSITORY_HEADERS } from './respond.js';
import { UpstreamError, type UpstreamClient } from '../upstream/upstream-client.js';
import { API_TYPES, apiAnswerHeaders, headerValue, isApiType, type ApiVariant } from '../mirror/api-types.js';
import { searchCatalog, type CatalogSearchDeps } from '../control/catalog-search.js';
import { withinClientDeadline } from '../mirror/client-deadline.js';
import { clientDeadlineOf } from './route-kit.js';

export const SEARCH_TTL_MS = 60_000;
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
/** Answers kept: each at most this big, all together at most MAX_CACHED_BYTES. */
const MAX_CACHED_ANSWER = 2 * 1024 * 1024;
const MAX_CACHED_BYTES = 32 * 1024 * 1024;
/** A query longer than this (no Hex client sends one) is passed on but not kept. */
const MAX_KEY_LENGTH = 1024;

export interface SearchDeps extends Omit<CatalogSearchDeps, 'apiUrl'> {
  apiUrl: () => string;
  upstream: UpstreamClient;
  metrics: Metrics;
  log: Logger;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

interface Kept extends Answer {
  expiresAt: number;
}

/** The query as a cache key: parameters in a fixed order, so `sort=…&search=…` is the same search. */
export function searchKey(variant: ApiVariant, params: URLSearchParams): string {
  const sorted = [...params].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return `${variant}?${new URLSearchParams(sorted).toString()}`;
}

/** Why the upstream's failure is a reason to answer from the catalog, or undefined when it is not. */
function offlineReason(error: unknown): string | undefined {
  if (error instanceof UpstreamError)
    return error.reason === 'too_large' || error.reason === 'redirect' || error.reason === 'aborted' ? undefined : error.message;
  // The client's deadline passed while the upstream kept it waiting.
  if (error instanceof Problem && error.kind === 'upstream_timeout') return 'the upstream did not answer in time';
  return undefined;
}

export class ApiSearch {
  private readonly kept = new Map<string, Kept>();
  private keptBytes = 0;
  private readonly flights = new SingleFlight<string, Answer>();

  constructor(private readonly deps: SearchDeps) {}

  async serve(req: IncomingMessage, res: ServerResponse, variant: ApiVariant, rawQuery: string): Promise<void> {
    const { upstream } = this.deps;
    const params = new URLSearchParams(rawQuery);
    // With credentials the answer can list an organization's private packages: the caller's alone.
    const credentials = headerValue(req.headers.authorization);
    const key = credentials === undefined ? searchKey(variant, params) : undefined;
    const shared = key !== undefined && key.length <= MAX_KEY_LENGTH ? key : undefined;

    // A kept answer is the upstream's, and better than the catalog's while it lasts.
    const fresh = shared === undefined ? undefined : this.fresh(shared);
    if (fresh) return this.send(req, res, fresh, 'HIT', 'search');
    if (!upstream.enabled) return this.answerLocally(req, res, variant, params, 'the upstream is disabled (offline mode)');
    if (upstream.unreachable) return this.answerLocally(req, res, variant, params, `the upstream is unreachable: ${upstream.health.lastError ?? 'no answer'}`);

    let answer: Answer;
    try {
      answer = await withinClientDeadline(this.ask(shared, rawQuery, variant, credentials), 'the package search', clientDeadlineOf(req));
    } catch (error) {
      const reason = offlineReason(error);
      if (reason === undefined) throw error instanceof UpstreamError ? new Problem('upstream_failed', `package search: ${error.message}`) : error;
      return this.answerLocally(req, res, variant, params, reason);
    }
    this.send(req, res, answer, answer.status === 200 ? 'MISS' : 'PASS', credentials === undefined ? 'search' : 'private');
  }

  private fresh(key: string): Answer | undefined {
    const kept = this.kept.get(key);
    if (!kept) return undefined;
    if (kept.expiresAt > Date.now()) return kept;
    this.forget(key, kept);
    return undefined;
  }

  private forget(key: string, kept: Kept): void {
    this.kept.delete(key);
    this.keptBytes -= kept.body.length;
  }

  private keep(key: string, answer: Answer): void {
    if (answer.body.length > MAX_CACHED_ANSWER) return;
    const previous = this.kept.get(key);
    if (previous) this.forget(key, previous);
    // The oldest go first (a Map iterates in insertion order); expired ones are dropped on the way.
    for (const [oldKey, old] of this.kept) {
      if (this.keptBytes + answer.body.length <= MAX_CACHED_BYTES && old.expiresAt > Date.now()) break;
      this.forget(oldKey, old);
    }
    this.kept.set(key, { ...answer, expiresAt: Date.now() + SEARCH_TTL_MS });
    this.keptBytes += answer.body.length;
  }

  /**
   * One upstream request per query at a time; searches with credentials are never shared. An
   * answer is kept even when it came too late for the client that asked (who got the catalog's).
   */
  private ask(key: string | undefined, rawQuery: string, variant: ApiVariant, credentials: string | undefined): Promise<Answer> {
    if (key === undefined) return this.fetch(rawQuery, variant, credentials);
    return this.flights.run(key, async () => {
      const answer = await this.fetch(rawQuery, variant, credentials);
      if (answer.status === 200) this.keep(key, answer);
      return answer;
    });
  }

  private async fetch(rawQuery: string, variant: ApiVariant, credentials: string | undefined): Promise<Answer> {
    const type = API_TYPES[variant];
    const response = await this.deps.upstream.fetchBuffer(`${this.deps.apiUrl()}/packages${rawQuery ? `?${rawQuery}` : ''}`, {
      kind: 'api',
      headers: { accept: type, ...(credentials !== undefined ? { authorization: credentials } : {}) },
      maxBytes: MAX_ANSWER_BYTES,
    });
    const contentType = headerValue(response.headers['content-type']);
    if (response.status === 200 && !isApiType(contentType, type))
      throw new Problem('upstream_failed', `package search: the upstream API answered ${contentType ?? 'without a Content-Type'}, expected ${type}`);
    // Anything else (a refused parameter, a rate limit) is the upstream's answer, passed on as it is.
    return { status: response.status, headers: apiAnswerHeaders(response.headers), body: response.body };
  }

  private send(req: IncomingMessage, res: ServerResponse, answer: Answer, state: string, scope: 'search' | 'private'): void {
    const body = req.method === 'HEAD' ? undefined : answer.body;
    res.writeHead(answer.status, {
      ...REPOSITORY_HEADERS,
      ...answer.headers,
      'cache-control': scope === 'private' ? 'private, no-store' : answer.status === 200 ? `public, max-age=${SEARCH_TTL_MS / 1000}` : 'no-store',
      vary: 'accept',
      'x-hexhub-cache': state,
      'content-length': answer.body.length,
    });
    res.end(body);
    const { metrics } = this.deps;
    const bytes = body?.length ?? 0;
    metrics.bytesServed.inc({ kind: 'api' }, bytes);
    if (state === 'HIT') {
      metrics.hits.inc({ kind: 'api' });
      metrics.usage.hit(bytes);
      return;
    }
    if (state === 'MISS') {
      metrics.misses.inc({ kind: 'api' });
      metrics.usage.add('misses');
    }
    metrics.usage.add('bytesServed', bytes);
  }

  private async answerLocally(req: IncomingMessage, res: ServerResponse, variant: ApiVariant, params: URLSearchParams, reason: string): Promise<void> {
    const documents = await searchCatalog({ ...this.deps, apiUrl: this.deps.apiUrl() }, params);
    const body = variant === 'erlang' ? encodeTerm(documents) : Buffer.from(JSON.stringify(documents));
    const plain = reason.replace(/[^\x20-\x7e]|"/g, ' ').slice(0, 300);
    this.deps.log.warn({ event: 'offline_search', reason, results: documents.length }, 'package search answered from the local catalog');
    this.send(
      req,
      res,
      {
        status: 200,
        headers: {
          'content-type': `${API_TYPES[variant]}; charset=utf-8`,
          'x-hexhub-offline-search': 'local catalog',
          'x-hexhub-offline-reason': plain,
          // Hex prints this as "API warning: …", so the user knows the list is partial.
          'x-hex-message': `"HexHub could not ask hex.pm (${plain}); these are only the packages this mirror has cached"; level=warn`,
        },
        body,
      },
      'LOCAL',
      'private',
    );
  }
}
