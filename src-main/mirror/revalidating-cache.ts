// Mutable resources (registry records, API answers, installs, the public key): kept,
// revalidated with a conditional request once older than their TTL, verified before
// being stored, and served stale when the upstream is down or disabled.
import { messageOf } from '../../src-shared/problems.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { SingleFlight } from '../core/single-flight.js';
import { Problem } from '../core/problem.js';
import type { Metrics } from '../core/metrics.js';
import type { BlobStore } from '../store/blob-store.js';
import { restoreEntry, type ObjectStorage } from '../store/object-storage.js';
import type { CacheEntry, CacheIndex } from '../store/cache-index.js';
import { describeKey } from '../store/keys.js';
import { problemKindOf, UpstreamError, type UpstreamClient } from '../upstream/upstream-client.js';
import { headerValue } from './api-types.js';
import type { CachedCopy } from './cached-copy.js';
import { stillRunningAfter, withinClientDeadline, type ClientDeadline } from './client-deadline.js';

export interface GetOptions {
  /** Revalidate now, whatever the TTL says. */
  force?: boolean;
  /** The waiting client's deadline, for a fetch with nothing stored to fall back on. */
  deadline?: ClientDeadline;
}

export interface MutableSpec {
  key: string;
  /** Metric and log label. */
  kind: string;
  /** What a client would call it ("package plug"), for messages; the key otherwise. */
  label?: string;
  url: string;
  headers?: Record<string, string>;
  ttlMs: number;
  maxBytes: number;
  /**
   * What a stored copy must have been verified under to be served: the fingerprint of the
   * upstream's signing key (registry records), or the upstream it came from (other resources).
   * A copy from under another one (an earlier upstream's) is never served as it is, not even
   * stale: it is re-checked, or fetched again.
   */
  trust: string;
  /** Signed resources: a copy from under another trust is first re-verified locally with the current key. */
  reverifyLocally?: boolean;
  /** Throws (with a reason for the client) if the body must not be stored; may return what it decoded. */
  verify(body: Buffer, headers: IncomingHttpHeaders): unknown;
  /** Called with what `verify` returned, once the body is stored. */
  onStored?(verified: unknown): void;
  /** Called with what `verify` returned of a fresh upstream answer, as soon as it is verified (before it is stored). */
  onVerified?(verified: unknown): void;
  /** Upstream headers kept with the stored copy and sent with it (API answers). */
  keep?(headers: IncomingHttpHeaders): Pick<CacheEntry, 'contentType' | 'lastModified' | 'hexMessage'>;
}

/** A mutable resource as it may be served now (fresh, revalidated, stale, or in memory only). */
export type MutableResult = CachedCopy;

export class VerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerificationError';
  }
}

/** Upstream answers that mean "this object does not exist" (repo.hex.pm says 403 for those). */
export function isMissingStatus(status: number): boolean {
  return status === 404 || status === 403 || status === 410;
}

export class RevalidatingCache {
  private readonly flights = new SingleFlight<string, MutableResult>();

  constructor(
    private readonly store: BlobStore,
    private readonly storage: ObjectStorage,
    private readonly index: CacheIndex,
    private readonly upstream: UpstreamClient,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly signal: AbortSignal,
  ) {}

  /** Resolves once every transfer in flight has finished or cleaned up after itself. */
  settle(): Promise<void> {
    return this.flights.settle();
  }

  async get(spec: MutableSpec, options: GetOptions = {}): Promise<MutableResult> {
    let entry = this.index.get(spec.key);
    // Shared storage: the index lists the whole bucket, local copies come in on demand.
    if (this.storage.shared && (!entry || (await this.store.size(spec.key)) === undefined)) entry = (await this.restore(spec)) ?? entry;
    // A copy verified under an earlier upstream's key (or fetched from it) is as good as none.
    const foreign = entry !== undefined && !(await this.trusted(spec, entry));
    if (foreign) entry = undefined;
    const now = Date.now();
    if (entry) {
      if (!options.force && now - entry.validatedAt < spec.ttlMs) return { key: spec.key, entry, state: 'HIT' };
    }
    if (!this.upstream.enabled) {
      if (entry) return this.stale(spec, entry, 'upstream disabled (offline mode)');
      if (foreign) throw new Problem('unavailable', `${foreignCopy(spec.key)}; it cannot be checked again while the upstream is disabled (offline mode)`);
      throw new Problem('unavailable', `${spec.key} is not cached and the upstream is disabled (offline mode)`);
    }
    // An expired copy while the upstream is known to be down: the stored answer at once. (The
    // health probe notices when it is back; the next request then revalidates.)
    if (entry && !options.force && this.upstream.unreachable)
      return this.stale(spec, entry, `upstream unreachable: ${this.upstream.health.lastError ?? 'no answer'}`);
    // A forced refresh asks the upstream anew: a fetch already running may have produced the very
    // answer being doubted (a record verified and handed out before it was stored), so it is not joined.
    if (options.force) await this.flights.get(spec.key)?.catch(() => undefined);
    // Its outcome is stored even when no client waits for it any more.
    const pending = this.flights.run(spec.key, () => this.refresh(spec, entry, foreign));
    // Nothing stored to fall back on: as long as the client can wait, then a 504 saying why.
    if (!entry || options.force) return withinClientDeadline(pending, spec.label ?? spec.key, options.deadline);
    // A stored copy: the upstream gets the revalidation budget, then the copy is served and
    // the revalidation finishes in the background (stale-while-revalidate).
    const budget = this.upstream.revalidateBudgetMs;
    const late = await stillRunningAfter(pending, budget);
    if (late) return this.stale(spec, entry, `upstream did not answer within ${budget} ms; revalidating in the background`);
    return pending;
  }

  /**
   * Whether a stored copy was verified under the current trust. Signed copies from under
   * another key are verified again with the current one (and kept if they pass); copies from
   * before trust was recorded count as the current upstream's unless they can be re-verified.
   */
  private async trusted(spec: MutableSpec, entry: CacheEntry): Promise<boolean> {
    if (entry.trust === spec.trust) return true;
    if (!spec.reverifyLocally) return entry.trust === undefined;
    try {
      spec.onStored?.(await spec.verify(await readFile(this.store.path(spec.key)), {}));
    } catch (error) {
      this.log.warn(
        { event: 'foreign_copy', key: spec.key, verifiedUnder: entry.trust ?? null, trust: spec.trust, error: messageOf(error) },
        'stored copy does not verify under the current upstream key; fetching it again',
      );
      return false;
    }
    this.index.annotate(entry, { trust: spec.trust });
    return true;
  }

  /** Shared storage: a copy another instance stored, checked like an upstream answer before use. */
  private restore(spec: MutableSpec): Promise<CacheEntry | undefined> {
    return restoreEntry(this.storage, this.index, spec.key, this.log, async () => {
      try {
        spec.onStored?.(await spec.verify(await readFile(this.store.path(spec.key)), {}));
        return true;
      } catch (error) {
        this.log.error({ event: 'storage_rejected', key: spec.key, error: messageOf(error) }, 'object in the shared storage failed verification; ignored');
        await this.store.remove(spec.key);
        return false;
      }
    });
  }

  private stale(spec: MutableSpec, entry: CacheEntry, reason: string): MutableResult {
    this.metrics.staleServes.inc({ kind: spec.kind });
    this.metrics.usage.add('staleServes');
    this.log.warn({ event: 'stale_serve', key: spec.key, reason }, 'serving stored copy because the upstream failed');
    return { key: spec.key, entry, state: 'STALE', staleReason: reason };
  }

  private async refresh(spec: MutableSpec, entry: CacheEntry | undefined, foreign = false): Promise<MutableResult> {
    const started = performance.now();
    const headers = { ...spec.headers, ...(entry?.upstreamEtag ? { 'if-none-match': entry.upstreamEtag } : {}) };
    const logFetch = (outcome: string, extra: Record<string, unknown> = {}) => {
      const line = { event: 'upstream_fetch', kind: spec.kind, url: spec.url, outcome, ms: Math.round(performance.now() - started), ...extra };
      if (outcome === 'error' || outcome === 'rejected') this.log.warn(line, `upstream ${outcome}`);
      else this.log.info(line, `upstream ${outcome}`);
    };

    let response;
    try {
      response = await this.upstream.fetchBuffer(spec.url, { kind: spec.kind, headers, maxBytes: spec.maxBytes, signal: this.signal });
    } catch (error) {
      const failure = error instanceof UpstreamError ? error : new UpstreamError('network', String(error));
      logFetch('error', { error: failure.message });
      if (entry && failure.reason !== 'too_large') return this.stale(spec, entry, failure.message);
      if (foreign) throw new Problem(problemKindOf(failure), `${foreignCopy(spec.key)}, and the upstream failed: ${failure.message}`);
      throw new Problem(problemKindOf(failure), `upstream failed for ${spec.key}: ${failure.message}`);
    }

    if (response.status === 304 && entry) {
      this.index.markValidated(entry);
      this.metrics.revalidations.inc({ kind: spec.kind, result: 'not_modified' });
      logFetch('not_modified');
      return { key: spec.key, entry, state: 'REVALIDATED' };
    }
    if (isMissingStatus(response.status)) {
      logFetch('missing', { status: response.status });
      throw new Problem('not_found', `${spec.label ?? spec.key} does not exist upstream`);
    }
    if (response.status !== 200) {
      logFetch('error', { status: response.status });
      if (entry) return this.stale(spec, entry, `upstream answered ${response.status}`);
      throw new Problem('upstream_failed', `upstream answered ${response.status} for ${spec.key}`);
    }

    let verified: unknown;
    try {
      verified = await spec.verify(response.body, response.headers);
    } catch (error) {
      const reason = messageOf(error);
      this.metrics.verificationFailures.inc({ kind: spec.kind, reason: (error as { code?: string }).code ?? 'invalid' });
      this.metrics.usage.add('verificationFailures');
      logFetch('rejected', { error: reason });
      throw new Problem('upstream_failed', `refused upstream ${spec.key}: ${reason}`);
    }
    spec.onVerified?.(verified);

    const sha256 = createHash('sha256').update(response.body).digest('hex');
    const now = Date.now();
    if (entry?.sha256 === sha256) {
      // Same bytes under a new upstream ETag: nothing to write.
      entry.upstreamEtag = etagHeader(response.headers);
      Object.assign(entry, kept(spec, response.headers));
      this.index.markValidated(entry);
      this.metrics.revalidations.inc({ kind: spec.kind, result: 'unchanged' });
      logFetch('unchanged');
      return { key: spec.key, entry, state: 'REVALIDATED' };
    }
    const stored: CacheEntry = {
      ...describeKey(spec.key),
      size: response.body.length,
      sha256,
      trust: spec.trust,
      ...(etagHeader(response.headers) ? { upstreamEtag: etagHeader(response.headers) } : {}),
      ...kept(spec, response.headers),
      fetchedAt: now,
      validatedAt: now,
      lastUsedAt: entry?.lastUsedAt ?? now,
      hits: entry?.hits ?? 0,
    };
    try {
      const meta = { size: stored.size, sha256, ...(stored.upstreamEtag ? { upstreamEtag: stored.upstreamEtag } : {}), fetchedAt: now };
      await this.storage.persist(await this.store.writeTemp(response.body), spec.key, meta, { immutable: false });
    } catch (error) {
      // The disk refused it: this answer is still verified, so it is served from memory.
      spec.onStored?.(verified);
      logFetch('passed_through', { bytes: response.body.length, error: messageOf(error) });
      return { key: spec.key, entry: stored, state: 'MISS', unstored: response.body };
    }
    this.index.put(spec.key, stored);
    spec.onStored?.(verified);
    if (entry) this.metrics.revalidations.inc({ kind: spec.kind, result: 'changed' });
    logFetch(entry ? 'changed' : 'stored', { bytes: response.body.length });
    return { key: spec.key, entry: stored, state: entry ? 'REVALIDATED' : 'MISS' };
  }
}

/** The upstream headers a stored copy keeps and is served with: the spec's choice, else Last-Modified. */
function kept(spec: MutableSpec, headers: IncomingHttpHeaders): Pick<CacheEntry, 'contentType' | 'lastModified' | 'hexMessage'> {
  if (spec.keep) return spec.keep(headers);
  const lastModified = headerValue(headers['last-modified'], 100);
  return lastModified !== undefined ? { lastModified } : {};
}

function foreignCopy(key: string): string {
  return `the stored ${key} came from another upstream or was verified with another key`;
}

function etagHeader(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.etag;
  return typeof value === 'string' && value.length > 0 && value.length < 256 ? value : undefined;
}
