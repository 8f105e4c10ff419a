// Immutable artifacts (tarballs and docs): fetched once, verified, kept for good.
//
// A cold miss streams to the client while the bytes are hashed and written to a temporary
// file. The last chunk is held back until the whole body is verified and renamed into
// place, so a client never receives a complete body that the mirror refused: on failure
// its connection is cut short and it sees a truncated transfer. Clients that ask for the
// same object meanwhile wait for the one upstream request and are served from the file.
//
// When the disk cannot take the object (full, read-only), a transfer that is streaming to
// a client carries on without keeping it: the body is still verified before its last chunk
// goes out, the temporary file is removed, and the storage health says why. Without a
// client to stream to (pre-warm, or a body that must be verified before serving) the
// answer is a 507.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Logger } from 'pino';
import type { TransferOutcome, TransferView } from '../../src-shared/contract.js';
import { readTarball } from '../hex/tarball.js';
import { HttpError } from '../server/http-error.js';
import type { Metrics } from '../server/metrics.js';
import { REPOSITORY_HEADERS, sendStored, staleHeaders } from '../server/respond.js';
import { drained, type BlobStore, type TempFile } from '../store/blob-store.js';
import { restoreEntry, StorageError, type ObjectStorage } from '../store/object-storage.js';
import type { CacheEntry, CacheIndex } from '../store/cache-index.js';
import { describeKey } from '../store/keys.js';
import { backoffDelay, sleep } from '../upstream/backoff.js';
import { asUpstreamError, SlowBodyError, UpstreamError, type UpstreamClient, type UpstreamResponse } from '../upstream/upstream-client.js';
import { headerValue } from './api-types.js';
import { withinClientDeadline } from './client-deadline.js';
import { isMissingStatus } from './revalidating-cache.js';
import type { ReleaseChecksums } from './registry-service.js';

export interface ArtifactSpec {
  key: string;
  kind: 'tarball' | 'docs';
  url: string;
  contentType: string;
  cacheControl: string;
  maxBytes: number;
  /** What the stored copy is verified under (see CacheEntry.trust): the registry key for tarballs, the upstream for docs. */
  trust: string;
  /** Tarballs: the registry's checksums, and a way to refresh them once on a mismatch. */
  checksums?: ReleaseChecksums;
  refreshChecksums?: () => Promise<ReleaseChecksums | undefined>;
}

interface Live {
  req: IncomingMessage;
  res: ServerResponse;
  /** Set when the client was answered otherwise (its deadline passed): the transfer goes on without it. */
  detached?: boolean;
  /** The upstream has answered: from then on the body is on its way (and the minimum rate bounds it). */
  upstreamAnswered?: boolean;
}

/** Told about every transfer, for the event stream and pre-warm progress. */
export interface TransferListener {
  started(transfer: TransferView): void;
  progress(transfer: TransferView): void;
  ended(transfer: TransferView, outcome: TransferOutcome, error?: string): void;
}

/** How far a slow client may fall behind before the transfer waits for it. */
const LIVE_HIGH_WATER = 1024 * 1024;

export class ArtifactCache {
  /** Resolves to the stored entry, or undefined if the body was passed through without being kept. */
  private readonly inflight = new Map<string, Promise<CacheEntry | undefined>>();

  constructor(
    private readonly store: BlobStore,
    private readonly storage: ObjectStorage,
    private readonly index: CacheIndex,
    private readonly upstream: UpstreamClient,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly retry: () => { attempts: number; delayMs: number },
    private readonly signal: AbortSignal,
    private readonly listener?: TransferListener,
  ) {}

  /** Transfers in flight now. */
  get active(): number {
    return this.inflight.size;
  }

  /** Resolves once every transfer in flight has finished or cleaned up after itself. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** Serves a stored copy; false if there is none usable (missing, or damaged on disk). */
  /** `staleReason`: the copy is served although its revalidation failed or is still running (X-HexHub-Stale). */
  async serveHit(req: IncomingMessage, res: ServerResponse, spec: ArtifactSpec, entry: CacheEntry, state = 'HIT', staleReason?: string): Promise<boolean> {
    const { sent, bytes } = await sendStored(req, res, this.store, spec.key, entry, {
      contentType: spec.contentType,
      cacheControl: staleReason ? 'no-cache' : spec.cacheControl,
      cacheState: state,
      ...(staleReason ? { extraHeaders: staleHeaders(staleReason) } : {}),
    });
    if (!sent) {
      // Shared storage: no local copy yet is normal; the transfer takes it from the bucket.
      if (this.storage.shared && (await this.store.size(spec.key)) === undefined) return false;
      this.log.warn({ event: 'damaged_object', key: spec.key }, 'stored object missing or of the wrong size; fetching it again');
      this.metrics.damagedObjects.inc({ kind: spec.kind, found_by: 'serving' });
      this.index.delete(spec.key);
      await this.store.remove(spec.key);
      return false;
    }
    this.index.touch(entry);
    this.metrics.bytesServed.inc({ kind: spec.kind }, bytes);
    return true;
  }

  /** Whether the stored file is there with the size the index says (a cheap check, not a re-hash). */
  async intact(key: string, entry: CacheEntry): Promise<boolean> {
    const size = await this.store.size(key);
    if (size === entry.size) return true;
    // Shared storage: not copied here yet; ensure() takes it from the bucket.
    if (size === undefined && this.storage.shared) return false;
    this.index.delete(key);
    await this.store.remove(key);
    return false;
  }

  /** Makes sure the artifact is stored, joining a transfer in flight; for pre-warm. */
  async ensure(spec: ArtifactSpec): Promise<{ entry: CacheEntry; fetched: boolean }> {
    const running = this.inflight.get(spec.key);
    let entry: CacheEntry | undefined;
    if (running) {
      entry = await running;
    } else {
      this.metrics.misses.inc({ kind: spec.kind });
      const transfer = this.transfer(spec).finally(() => this.inflight.delete(spec.key));
      this.inflight.set(spec.key, transfer);
      entry = await transfer;
    }
    if (!entry) throw this.notKept(spec.key);
    return { entry, fetched: true };
  }

  /**
   * Revalidates a stored object (docs past their TTL) with a conditional request: a 304 keeps
   * it (validated now), a changed body is verified and replaces it atomically, the same body
   * is not written again. One request however many ask; nobody is streamed to (clients are
   * answered from the store). Resolves to the entry to serve.
   */
  revalidate(spec: ArtifactSpec, current: CacheEntry): Promise<CacheEntry | undefined> {
    const running = this.inflight.get(spec.key);
    if (running) return running;
    const transfer = this.transfer(spec, undefined, current).finally(() => this.inflight.delete(spec.key));
    this.inflight.set(spec.key, transfer);
    transfer.catch(() => undefined);
    return transfer;
  }

  private notKept(key: string, cause?: unknown): HttpError {
    const why = cause ? `: ${(cause as Error).message}` : '';
    return new HttpError(507, `${key} could not be stored (${this.store.health.writable ? 'write failed' : 'the cache disk is full or not writable'})${why}`);
  }

  /** Fetches a missing artifact (one upstream request however many ask) and serves it. */
  async fetchAndServe(req: IncomingMessage, res: ServerResponse, spec: ArtifactSpec): Promise<void> {
    this.metrics.misses.inc({ kind: spec.kind });
    const running = this.inflight.get(spec.key);
    const label = describeRelease(spec);
    if (running) {
      const entry = await withinClientDeadline(running, label);
      // Passed through without being kept (a full disk): this client gets its own pass-through.
      if (!entry) return this.fetchAndServe(req, res, spec);
      if (!(await this.serveHit(req, res, spec, entry, 'MISS'))) throw new HttpError(502, `${spec.key} could not be read back after download`);
      return;
    }
    const live: Live = { req, res };
    const transfer = this.transfer(spec, live).finally(() => this.inflight.delete(spec.key));
    this.inflight.set(spec.key, transfer);
    // Until the response has begun, the client waits only as long as it can; the transfer then
    // goes on without it and keeps the object for the next request.
    const entry = await withinClientDeadline(transfer, label, () => res.headersSent || live.upstreamAnswered === true)
      .catch((error: unknown) => {
        if (!res.headersSent) {
          live.detached = true;
          throw error;
        }
        res.destroy();
        return undefined;
      });
    // Spooled (not streamed live): serve the verified file now.
    if (entry && !res.headersSent) {
      if (!(await this.serveHit(req, res, spec, entry, 'MISS'))) throw new HttpError(502, `${spec.key} could not be read back after download`);
    }
  }

  /** `current`: the stored copy being revalidated, if this is a revalidation. */
  private async transfer(spec: ArtifactSpec, live?: Live, current?: CacheEntry): Promise<CacheEntry | undefined> {
    const started = performance.now();
    const restored = current ? undefined : await this.restore(spec);
    if (restored) return restored;
    const view: TransferView = { id: randomUUID(), key: spec.key, kind: spec.kind, bytes: 0, startedAt: Date.now() };
    // A revalidation shows as a transfer only once there is a new body to download.
    let announced = false;
    const announce = () => {
      if (!announced) this.listener?.started(view);
      announced = true;
    };
    if (!current) announce();
    const temp = this.store.createTemp();
    const hash = createHash('sha256');
    const gzipCheck = spec.kind === 'docs' ? new GzipCheck() : undefined;
    let received = 0;
    let total: number | undefined;
    let upstreamEtag: string | undefined;
    let lastModified: string | undefined;
    let held: Buffer | undefined;
    let closed = false;
    live?.res.once('close', () => (closed = true));
    // The client's response head, once the ETag is known before the body (see below). It goes
    // out with the first chunk, not before: a body refused before any of it was sent gets a
    // proper error answer, not a cut connection.
    let liveHead: Record<string, string | number> | undefined;
    let spooling = true;
    const streaming = () => live !== undefined && !closed && !live.detached && liveHead !== undefined;
    /** The disk refused the object: drop the temporary file and pass the body through, if a client is being streamed to. */
    const stopSpooling = async (error: unknown) => {
      if (!spooling) return;
      spooling = false;
      temp.stream.destroy();
      await this.store.discard(temp.path);
      // (A storage that failed has reported itself, with its own reason.)
      if (!(error instanceof StorageError)) this.store.health.failed(error);
      this.metrics.storageWriteFailures.inc({ kind: spec.kind });
      if (!streaming()) throw this.notKept(spec.key, error);
      this.log.warn({ event: 'storage_failed', key: spec.key, error: (error as Error).message }, 'cannot store; passing the download through without keeping it');
    };

    const writeLive = async (chunk: Buffer) => {
      if (!streaming()) return;
      if (!live!.res.headersSent) live!.res.writeHead(200, liveHead);
      if (!live!.res.write(chunk) && live!.res.writableLength > LIVE_HIGH_WATER) await drained(live!.res);
    };
    /** Sends the last chunk and ends the client's response; false if there is no client to stream to. */
    const endLive = (chunk: Buffer | undefined): boolean => {
      if (!streaming()) return false;
      if (!live!.res.headersSent) live!.res.writeHead(200, liveHead);
      live!.res.end(chunk);
      return true;
    };

    try {
      const { attempts, delayMs } = this.retry();
      for (let attempt = 0; ; attempt++) {
        const resumeFrom = received;
        const response = await this.open(spec, resumeFrom, upstreamEtag, resumeFrom === 0 ? current?.upstreamEtag : undefined);
        let skip = 0;
        try {
          if (resumeFrom === 0) {
            if (live) live.upstreamAnswered = true;
            if (current && response.status === 304) {
              response.body.destroy();
              gzipCheck?.dispose();
              return await this.unchanged(spec, current, temp, 'not_modified');
            }
            if (current && response.status === 200) announce();
            if (isMissingStatus(response.status)) throw new HttpError(404, `${describeRelease(spec)} does not exist upstream`);
            if (response.status !== 200) throw new HttpError(502, `upstream answered ${response.status} for ${spec.key}`);
            const length = Number(response.headers['content-length'] ?? NaN);
            total = Number.isFinite(length) ? length : undefined;
            if (total !== undefined && total > spec.maxBytes) throw new HttpError(502, `upstream ${spec.key} is ${total} bytes, over the ${spec.maxBytes}-byte limit`);
            upstreamEtag = typeof response.headers.etag === 'string' ? response.headers.etag : undefined;
            lastModified = headerValue(response.headers['last-modified'], 100);
            // The ETag must be known before the body is: the registry checksum for tarballs,
            // the upstream's for docs. Without one the body is verified first, then served.
            const liveEtag = spec.kind === 'tarball' ? (spec.checksums?.outer ? `"${spec.checksums.outer}"` : undefined) : upstreamEtag;
            if (total !== undefined) view.totalBytes = total;
            if (live && liveEtag !== undefined) {
              liveHead = {
                ...REPOSITORY_HEADERS,
                'content-type': spec.contentType,
                ...(total !== undefined ? { 'content-length': total } : {}),
                etag: liveEtag,
                'cache-control': spec.cacheControl,
                'x-hexhub-cache': 'MISS',
                ...(lastModified !== undefined ? { 'last-modified': lastModified } : {}),
              };
            }
          } else if (response.status === 200) {
            skip = resumeFrom; // the upstream ignored Range: drop what we already have
          } else if (response.status !== 206 || !String(response.headers['content-range'] ?? '').startsWith(`bytes ${resumeFrom}-`)) {
            throw new HttpError(502, `upstream failed for ${spec.key}: upstream answered ${response.status} to a resumed request`);
          }
          for await (let chunk of response.body as AsyncIterable<Buffer>) {
            if (skip > 0) {
              const cut = Math.min(skip, chunk.length);
              skip -= cut;
              chunk = chunk.subarray(cut);
              if (chunk.length === 0) continue;
            }
            received += chunk.length;
            this.metrics.upstreamBytes.inc({ kind: spec.kind }, chunk.length);
            if (received > (total ?? spec.maxBytes)) {
              throw new HttpError(502, `upstream sent more than ${total ?? spec.maxBytes} bytes for ${spec.key}`);
            }
            view.bytes = received;
            this.listener?.progress(view);
            hash.update(chunk);
            if (gzipCheck) await this.checkGzip(spec, () => gzipCheck.update(chunk));
            if (spooling) {
              if (!temp.stream.write(chunk)) await drained(temp.stream);
              if (temp.stream.errored) await stopSpooling(temp.stream.errored);
            }
            if (held) await writeLive(held);
            held = chunk;
          }
          if (total !== undefined && received < total) throw new UpstreamError('network', `upstream body ended at ${received} of ${total} bytes`);
          break;
        } catch (error) {
          // Every way out of an attempt closes its response, the refusals before the body
          // included: one left open holds its socket, and a descriptor, until the timeout.
          response.body.destroy();
          if (asUpstreamError(error) instanceof SlowBodyError) throw asUpstreamError(error);
          if (error instanceof HttpError || attempt >= attempts || this.signal.aborted) throw error;
          this.metrics.upstreamErrors.inc({ kind: spec.kind, reason: 'body' });
          this.log.info({ event: 'upstream_resume', key: spec.key, received, total, error: (error as Error).message }, 'upstream body failed; resuming');
          await sleep(backoffDelay(attempt + 1, delayMs), this.signal);
        }
      }
      if (spooling) await closeTemp(temp).catch(stopSpooling);
      const sha256 = hash.digest('hex');
      await this.verify(spec, spooling ? temp.path : undefined, sha256, gzipCheck);
      if (current?.sha256 === sha256) return await this.unchanged(spec, current, temp, 'unchanged', upstreamEtag);
      const now = Date.now();
      const meta = { size: received, sha256, ...(spec.kind === 'docs' && upstreamEtag ? { etag: upstreamEtag } : {}), ...(upstreamEtag ? { upstreamEtag } : {}), fetchedAt: now };
      // A revalidated object replaces the stored one; a first fetch never overwrites another's.
      if (spooling) await this.storage.persist(temp.path, spec.key, meta, { immutable: !current }).catch(stopSpooling);
      if (!spooling) {
        endLive(held);
        this.metrics.bytesServed.inc({ kind: spec.kind }, received);
        this.log.warn({ event: 'upstream_fetch', kind: spec.kind, key: spec.key, outcome: 'passed_through', bytes: received, ms: Math.round(performance.now() - started) }, 'upstream passed through, not stored');
        if (announced) this.listener?.ended(view, 'passed', 'not kept: the cache disk is full or not writable');
        return undefined;
      }
      const entry: CacheEntry = { ...describeKey(spec.key), ...meta, trust: spec.trust, ...(lastModified !== undefined ? { lastModified } : {}), validatedAt: now, lastUsedAt: now, hits: 0 };
      this.index.put(spec.key, entry);
      if (current) this.metrics.revalidations.inc({ kind: spec.kind, result: 'changed' });
      if (endLive(held)) this.metrics.bytesServed.inc({ kind: spec.kind }, received);
      this.log.info({ event: 'upstream_fetch', kind: spec.kind, key: spec.key, outcome: 'stored', bytes: received, ms: Math.round(performance.now() - started) }, 'upstream stored');
      if (announced) this.listener?.ended(view, 'stored');
      return entry;
    } catch (error) {
      gzipCheck?.dispose();
      temp.stream.destroy();
      await this.store.discard(temp.path);
      const outcome = toHttpError(error, spec.key);
      this.log.warn({ event: 'upstream_fetch', kind: spec.kind, key: spec.key, outcome: 'failed', status: outcome.status, error: outcome.message, ms: Math.round(performance.now() - started) }, 'upstream fetch failed');
      if (live?.res.headersSent && !live.detached) live.res.destroy();
      if (announced) this.listener?.ended(view, 'failed', outcome.message);
      throw outcome;
    }
  }

  /**
   * Shared storage: another instance may have stored the object already. A tarball is only
   * taken if it matches the registry's checksum (a release replaced upstream is fetched anew).
   */
  private restore(spec: ArtifactSpec): Promise<CacheEntry | undefined> {
    return restoreEntry(this.storage, this.index, spec.key, this.log, (meta) => spec.kind !== 'tarball' || !spec.checksums?.outer || spec.checksums.outer === meta.sha256);
  }

  /** The stored copy is still the upstream's: validated now, nothing written. */
  private async unchanged(spec: ArtifactSpec, current: CacheEntry, temp: TempFile, result: 'not_modified' | 'unchanged', upstreamEtag?: string): Promise<CacheEntry> {
    temp.stream.destroy();
    await this.store.discard(temp.path);
    if (upstreamEtag) current.upstreamEtag = upstreamEtag;
    this.index.markValidated(current);
    this.metrics.revalidations.inc({ kind: spec.kind, result });
    this.log.info({ event: 'upstream_fetch', kind: spec.kind, key: spec.key, outcome: result }, `upstream ${result}`);
    return current;
  }

  private open(spec: ArtifactSpec, from: number, etag: string | undefined, ifNoneMatch?: string): Promise<UpstreamResponse> {
    const headers: Record<string, string> = from > 0 ? { range: `bytes=${from}-`, ...(etag ? { 'if-range': etag } : {}) } : ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {};
    return this.upstream.open(spec.url, { kind: spec.kind, headers, signal: this.signal });
  }

  /** Runs a step of the gzip check; a refusal becomes the client's 502. */
  private async checkGzip(spec: ArtifactSpec, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      const bomb = error instanceof GzipBombError;
      this.metrics.verificationFailures.inc({ kind: spec.kind, reason: bomb ? 'gzip_bomb' : 'bad_gzip' });
      throw new HttpError(502, `refused upstream ${spec.key}: ${bomb ? error.message : `not a valid gzip file (${(error as Error).message})`}`);
    }
  }

  /** `path` is the temporary file, or undefined when the body was passed through without one. */
  private async verify(spec: ArtifactSpec, path: string | undefined, sha256: string, gzipCheck: GzipCheck | undefined): Promise<void> {
    if (gzipCheck) await this.checkGzip(spec, () => gzipCheck.finish());
    if (spec.kind !== 'tarball') return;
    const matches = async (sums: ReleaseChecksums | undefined) => {
      if (!sums) return false;
      if (sums.outer) return sums.outer === sha256;
      // Records from before outer checksums existed: check the inner one, as Hex does.
      // (Such bodies are never streamed live, so they always have their file.)
      if (path === undefined) return false;
      const summary = await readTarball(createReadStream(path)).catch(() => undefined);
      return summary?.innerChecksum === sums.inner.toLowerCase();
    };
    if (await matches(spec.checksums)) return;
    // The release may have been replaced upstream (the edit window): refresh the record once.
    if (spec.refreshChecksums && (await matches(await spec.refreshChecksums().catch(() => undefined)))) return;
    this.metrics.verificationFailures.inc({ kind: spec.kind, reason: 'checksum' });
    throw new HttpError(502, `refused upstream ${spec.key}: SHA-256 ${sha256} does not match the registry checksum ${spec.checksums?.outer ?? spec.checksums?.inner ?? '(none)'}`);
  }
}

/** "tarball plug 1.14.0", for what a client reads. */
function describeRelease(spec: ArtifactSpec): string {
  const { package: name, version } = describeKey(spec.key);
  return `${spec.kind} ${name} ${version}`;
}

function toHttpError(error: unknown, key: string): HttpError {
  if (error instanceof HttpError) return error;
  // got's own errors (a body cut off mid-way) and those it wraps (a SlowBodyError) alike.
  const failure = asUpstreamError(error);
  if (failure.reason === 'offline') return new HttpError(503, `${key} is not cached and the upstream is disabled (offline mode)`);
  if (failure.reason === 'aborted') return new HttpError(503, 'the mirror is shutting down');
  return new HttpError(failure.reason === 'timeout' ? 504 : 502, `upstream failed for ${key}: ${failure.message}`);
}

async function closeTemp(temp: TempFile): Promise<void> {
  temp.stream.end();
  await finished(temp.stream);
}

/**
 * Bounds on inflating docs, which a few hundred KB of gzip can make take gigabytes and
 * minutes of CPU. hex.pm refuses docs uploads over 16 MiB compressed or 128 MiB inflated
 * (hexpm's API DocsController), so 512 MiB passes everything it serves, with room for a
 * self-hosted upstream, and costs about a second of inflating at worst. HexDocs tarballs
 * (HTML, JS, CSS, a search index) compress about 5-10×, a tar of many tiny files (mostly
 * zero-padded headers) a few tens: 100× is past anything real and far below deflate's ceiling
 * of about 1000×, so a bomb stops at 32 MiB, from where the ratio counts (before that a small
 * tarball that compresses unusually well would trip it).
 */
const MiB = 1024 * 1024;
const DOCS_INFLATED_MAX = 512 * MiB;
const DOCS_RATIO_MAX = 100;
const DOCS_RATIO_AFTER = 32 * MiB;

class GzipBombError extends Error {}

/** Checks that a body is a whole, valid gzip stream, within the bounds above, while it passes through. */
class GzipCheck {
  private readonly gunzip = createGunzip();
  private failure: Error | undefined;
  private inflated = 0;

  constructor() {
    this.gunzip.on('error', (error) => (this.failure ??= error));
    // The inflated bytes are only counted, then dropped.
    this.gunzip.on('data', (chunk: Buffer) => {
      this.inflated += chunk.length;
      const refusal = this.overBounds();
      if (refusal) {
        this.failure ??= refusal;
        this.gunzip.destroy();
      }
    });
  }

  private overBounds(): GzipBombError | undefined {
    if (this.inflated > DOCS_INFLATED_MAX) return new GzipBombError(`expands beyond ${DOCS_INFLATED_MAX / MiB} MiB when inflated`);
    // bytesWritten: the compressed bytes the inflater has consumed so far.
    const compressed = this.gunzip.bytesWritten;
    if (this.inflated > DOCS_RATIO_AFTER && this.inflated > DOCS_RATIO_MAX * compressed) {
      return new GzipBombError(`expands beyond ${DOCS_RATIO_MAX} times its compressed size (${this.inflated} bytes from the first ${compressed})`);
    }
    return undefined;
  }

  /**
   * Feeds a chunk, waiting while the inflater catches up (so a fast upstream cannot queue a
   * whole body in memory ahead of it); throws as soon as the stream is refused.
   */
  async update(chunk: Buffer): Promise<void> {
    if (!this.failure && !this.gunzip.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.gunzip.off('drain', done).off('close', done);
          resolve();
        };
        this.gunzip.on('drain', done).on('close', done);
      });
    }
    if (this.failure) throw this.failure;
  }

  /** Frees the inflater of a transfer that failed for another reason. */
  dispose(): void {
    this.gunzip.destroy();
  }

  async finish(): Promise<void> {
    if (!this.failure) {
      this.gunzip.end();
      await finished(this.gunzip).catch((error: Error) => (this.failure ??= error));
    }
    if (this.failure) throw this.failure;
  }
}

