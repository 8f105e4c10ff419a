// One download of an immutable artifact (a tarball or docs), as a chain of named steps over
// the state they share:
//
//   restore   shared storage: the copy another instance stored, if it is the right one
//   receive   open the upstream (a conditional request when revalidating) and pump the body,
//             resuming with Range/If-Range where it was cut off
//   verify    the registry checksum (tarballs; the record refreshed once on a mismatch), a
//             whole gzip stream within bounds (docs)
//   keep      persist the verified file and record it or, when the disk refuses it, carry
//             on as a pass-through
//   finish    the client's last chunk, the log line, the transfer event; or, on any
//             failure, clean up and say why
//
// The body streams to the client's sink as it arrives, one chunk behind: the last chunk is
// held back until the whole body is verified and stored, so a client never receives a
// complete body the mirror refused (its connection is cut instead). The head goes out with
// the first chunk sent, not before: a body refused before any of it went out is answered
// with the reason, not with a cut connection.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { TransferOutcome, TransferView } from '../../src-shared/contract.js';
import { readTarball } from '../hex/tarball.js';
import { messageOf } from '../../src-shared/problems.js';
import { Problem } from '../core/problem.js';
import type { Metrics } from '../core/metrics.js';
import { drained, type BlobStore, type TempFile } from '../store/blob-store.js';
import type { CacheEntry, CacheIndex } from '../store/cache-index.js';
import { describeKey } from '../store/keys.js';
import { restoreEntry, StorageError, type ObjectStorage, type StoredMeta } from '../store/object-storage.js';
import { backoffDelay, sleep } from '../upstream/backoff.js';
import { asUpstreamError, problemKindOf, SlowBodyError, UpstreamError, type UpstreamClient, type UpstreamResponse } from '../upstream/upstream-client.js';
import { headerValue } from './api-types.js';
import type { ArtifactSpec } from './artifact-spec.js';
import { GzipBombError, GzipCheck } from './docs-gzip-check.js';
import type { ReleaseChecksums } from './registry-service.js';
import type { ResponseHead, ResponseSink } from './response-sink.js';
import { isMissingStatus } from './revalidating-cache.js';

/**
 * Who a download is for: a client request (docs revalidations too: a client asked), or the
 * mirror's own fetching ahead of need (pre-warm jobs, the scrub's re-fetch of a damaged copy),
 * which the dashboard counts apart from client traffic.
 */
export type TransferSource = 'client' | 'prewarm';

/** How a transfer ended, beyond its outcome: for the activity log. */
export interface TransferEnd {
  source: TransferSource;
  /** Why it failed or was not kept. */
  problem?: Problem;
}

/** Told about every transfer, for the event stream, the activity log and pre-warm progress. */
export interface TransferListener {
  started(transfer: TransferView): void;
  progress(transfer: TransferView): void;
  ended(transfer: TransferView, outcome: TransferOutcome, error: string | undefined, end: TransferEnd): void;
}

export interface TransferDeps {
  store: BlobStore;
  storage: ObjectStorage;
  index: CacheIndex;
  upstream: Pick<UpstreamClient, 'open'>;
  log: Logger;
  metrics: Metrics;
  retry: () => { attempts: number; delayMs: number };
  signal: AbortSignal;
  listener?: TransferListener | undefined;
}

export class Transfer {
  /** The upstream has answered: from then on the body is on its way (and the minimum rate bounds it). */
  upstreamAnswered = false;
  private readonly startedAt = performance.now();
  private readonly view: TransferView;
  private announced = false;
  private temp!: TempFile;
  private gzip: GzipCheck | undefined;
  private readonly hash = createHash('sha256');
  private received = 0;
  private total: number | undefined;
  private upstreamEtag: string | undefined;
  private lastModified: string | undefined;
  /** The last chunk received, held back until the whole body is verified. */
  private held: Buffer | undefined;
  /** The client's response head, once its ETag is known before the body (see liveHead). */
  private head: ResponseHead | undefined;
  /** The body is written to the temporary file; false once the disk refused it (passed through). */
  private spooling = true;

  /**
   * `sink`: the client to stream to, if any (pre-warm and revalidations have none).
   * `current`: the stored copy being revalidated, if this is a revalidation.
   */
  constructor(
    private readonly deps: TransferDeps,
    private readonly spec: ArtifactSpec,
    private readonly sink?: ResponseSink,
    private readonly current?: CacheEntry,
    private readonly source: TransferSource = 'client',
  ) {
    this.view = { id: randomUUID(), key: spec.key, kind: spec.kind, bytes: 0, startedAt: Date.now() };
  }

  /** Resolves to the stored entry, or undefined when the body was passed through without being kept. */
  async run(): Promise<CacheEntry | undefined> {
    // A shared bucket's copy is judged by the checksums, so they must be in first.
    if (this.deps.storage.shared) await this.checksumsIn();
    const restored = this.current ? undefined : await this.restore();
    if (restored) return restored;
    if (!this.current) this.announce();
    this.temp = this.deps.store.createTemp();
    this.gzip = this.spec.kind === 'docs' ? new GzipCheck() : undefined;
    try {
      if (!(await this.receive())) return await this.unchanged('not_modified');
      if (this.spooling) await closeTemp(this.temp).catch((error: unknown) => this.stopSpooling(error));
      const sha256 = this.hash.digest('hex');
      await this.verify(sha256);
      if (this.current?.sha256 === sha256) return await this.unchanged('unchanged');
      return await this.keep(sha256);
    } catch (error) {
      throw await this.fail(error);
    }
  }

  /**
   * Shared storage: another instance may have stored the object already. A tarball is only
   * taken if it matches the registry's checksum (a release replaced upstream is fetched anew).
   */
  private restore(): Promise<CacheEntry | undefined> {
    const { spec, deps } = this;
    return restoreEntry(
      deps.storage,
      deps.index,
      spec.key,
      deps.log,
      (meta) => spec.kind !== 'tarball' || !spec.checksums?.outer || spec.checksums.outer === meta.sha256,
    );
  }

  /** Waits for checksums fetched alongside the download (see ArtifactSpec.checksumsArriving); their failure is the transfer's. */
  private async checksumsIn(): Promise<void> {
    const { spec } = this;
    if (!spec.checksumsArriving) return;
    try {
      spec.checksums = await spec.checksumsArriving;
    } catch (error) {
      throw toProblem(error, spec.key);
    }
  }

  /** The client's head once the checksums fetched alongside are in (see ArtifactSpec.checksumsArriving). */
  private async headWithChecksums(): Promise<void> {
    await this.checksumsIn();
    this.head ??= this.liveHead();
  }

  /** Shows the transfer in the event stream, once: a revalidation only once there is a new body to download. */
  private announce(): void {
    if (!this.announced) this.deps.listener?.started(this.view);
    this.announced = true;
  }

  /** Opens the upstream and pumps the body, resuming it where it was cut off; false when a revalidation is answered 304. */
  private async receive(): Promise<boolean> {
    const { attempts, delayMs } = this.deps.retry();
    for (let attempt = 0; ; attempt++) {
      const resumeFrom = this.received;
      const response = await this.open(resumeFrom);
      try {
        if (resumeFrom === 0 && !this.accept(response)) {
          response.body.destroy();
          return false;
        }
        await this.pump(response.body, resumeFrom === 0 ? 0 : this.resumedSkip(response, resumeFrom));
        return true;
      } catch (error) {
        // Every way out of an attempt closes its response, the refusals before the body
        // included: one left open holds its socket, and a descriptor, until the timeout.
        response.body.destroy();
        await this.beforeRetry(error, attempt, attempts, delayMs);
      }
    }
  }

  private open(from: number): Promise<UpstreamResponse> {
    // Resumed: the rest, as long as it is still the same object (If-Range). Revalidating: the
    // body only if it changed.
    const ifNoneMatch = this.current?.upstreamEtag;
    const headers: Record<string, string> =
      from > 0
        ? { range: `bytes=${from}-`, ...(this.upstreamEtag ? { 'if-range': this.upstreamEtag } : {}) }
        : ifNoneMatch
          ? { 'if-none-match': ifNoneMatch }
          : {};
    return this.deps.upstream.open(this.spec.url, { kind: this.spec.kind, headers, signal: this.deps.signal });
  }

  /** The first answer: false for a 304 to a revalidation; else a body, whose size and validators are read off it. */
  private accept(response: UpstreamResponse): boolean {
    const { spec } = this;
    this.upstreamAnswered = true;
    if (this.current && response.status === 304) return false;
    if (this.current && response.status === 200) this.announce();
    if (isMissingStatus(response.status)) throw new Problem('not_found', `${describeRelease(spec)} does not exist upstream`);
    if (response.status !== 200) throw new Problem('upstream_failed', `upstream answered ${response.status} for ${spec.key}`);
    const length = Number(response.headers['content-length'] ?? NaN);
    this.total = Number.isFinite(length) ? length : undefined;
    if (this.total !== undefined && this.total > spec.maxBytes)
      throw new Problem('upstream_failed', `upstream ${spec.key} is ${this.total} bytes, over the ${spec.maxBytes}-byte limit`);
    if (this.total !== undefined) this.view.totalBytes = this.total;
    this.upstreamEtag = typeof response.headers.etag === 'string' ? response.headers.etag : undefined;
    this.lastModified = headerValue(response.headers['last-modified'], 100);
    this.head = this.liveHead();
    return true;
  }

  /**
   * The client's response head, if the ETag is known before the body is: the registry checksum
   * for tarballs, the upstream's for docs. Without one the body is verified first, then served.
   */
  private liveHead(): ResponseHead | undefined {
    const { spec } = this;
    const etag = spec.kind === 'tarball' ? (spec.checksums?.outer ? `"${spec.checksums.outer}"` : undefined) : this.upstreamEtag;
    if (!this.sink || etag === undefined) return undefined;
    return {
      contentType: spec.contentType,
      contentLength: this.total,
      etag,
      cacheControl: spec.cacheControl,
      cacheState: 'MISS',
      lastModified: this.lastModified,
    };
  }

  /** How much of a resumed answer to drop: what we have when the upstream ignored Range (a 200), nothing of the 206 asked for. */
  private resumedSkip(response: UpstreamResponse, from: number): number {
    if (response.status === 200) return from;
    if (response.status !== 206 || !String(response.headers['content-range'] ?? '').startsWith(`bytes ${from}-`)) {
      throw new Problem('upstream_failed', `upstream failed for ${this.spec.key}: upstream answered ${response.status} to a resumed request`);
    }
    return 0;
  }

  /** Takes the body chunk by chunk: counted against its bounds, hashed, checked, spooled, and sent on one chunk behind. */
  private async pump(body: AsyncIterable<Buffer>, skip: number): Promise<void> {
    for await (let chunk of body) {
      if (skip > 0) {
        const cut = Math.min(skip, chunk.length);
        skip -= cut;
        chunk = chunk.subarray(cut);
        if (chunk.length === 0) continue;
      }
      this.count(chunk);
      this.hash.update(chunk);
      if (this.gzip) await this.checkGzip((gzip) => gzip.update(chunk));
      if (this.spooling) await this.spool(chunk);
      // Nothing goes to the client before the registry's checksums are in: its head carries them.
      if (this.held && this.spec.checksumsArriving && !this.head) await this.headWithChecksums();
      if (this.held) await this.sendLive(this.held);
      this.held = chunk;
    }
    if (this.total !== undefined && this.received < this.total)
      throw new UpstreamError('network', `upstream body ended at ${this.received} of ${this.total} bytes`);
  }

  private count(chunk: Buffer): void {
    const { spec, deps } = this;
    this.received += chunk.length;
    deps.metrics.upstreamBytes.inc({ kind: spec.kind }, chunk.length);
    deps.metrics.usage.add('upstreamBytes', chunk.length);
    const limit = this.total ?? spec.maxBytes;
    if (this.received > limit) throw new Problem('upstream_failed', `upstream sent more than ${limit} bytes for ${spec.key}`);
    this.view.bytes = this.received;
    deps.listener?.progress(this.view);
  }

  private async spool(chunk: Buffer): Promise<void> {
    const { stream } = this.temp;
    if (!stream.write(chunk)) await drained(stream);
    if (stream.errored) await this.stopSpooling(stream.errored);
  }

  /** The disk refused the object: drop the temporary file and pass the body through, if a client is being streamed to. */
  private async stopSpooling(error: unknown): Promise<void> {
    if (!this.spooling) return;
    this.spooling = false;
    this.temp.stream.destroy();
    await this.deps.store.discard(this.temp.path);
    // (A storage that failed has reported itself, with its own reason.)
    if (!(error instanceof StorageError)) this.deps.store.health.failed(error);
    this.deps.metrics.storageWriteFailures.inc({ kind: this.spec.kind });
    // Whether the client can still be streamed to depends on its head, which may wait for checksums fetched alongside.
    if (this.sink && this.spec.checksumsArriving && !this.head) await this.headWithChecksums();
    if (!this.live()) throw notKept(this.deps.store, this.spec.key, error);
    this.deps.log.warn(
      { event: 'storage_failed', key: this.spec.key, error: messageOf(error) },
      'cannot store; passing the download through without keeping it',
    );
  }

  /** The client being streamed to: there, not answered otherwise, and its head known. */
  private live(): { sink: ResponseSink; head: ResponseHead } | undefined {
    return this.sink?.open && this.head ? { sink: this.sink, head: this.head } : undefined;
  }

  /** The client's sink with its head sent (it goes out with the first chunk), or undefined if there is no client to stream to. */
  private begun(): ResponseSink | undefined {
    const live = this.live();
    if (live && !live.sink.started) live.sink.begin(live.head);
    return live?.sink;
  }

  private async sendLive(chunk: Buffer): Promise<void> {
    await this.begun()?.write(chunk);
  }

  /** Sends the last chunk and ends the client's response; false if there is no client to stream to. */
  private endLive(): boolean {
    const sink = this.begun();
    sink?.end(this.held);
    return sink !== undefined;
  }

  /** After a failed attempt: rethrows what is final (a refusal, a slow body, the last attempt, shutdown), else waits to resume. */
  private async beforeRetry(error: unknown, attempt: number, attempts: number, delayMs: number): Promise<void> {
    const { usage } = this.deps.metrics;
    const failure = asUpstreamError(error);
    // A slow body is not a broken one: resuming would only restart the clock for every waiter.
    // (Its attempt was counted where it was cut off.)
    if (failure instanceof SlowBodyError) {
      usage.requestFailed(failure);
      throw failure;
    }
    if (error instanceof Problem || this.deps.signal.aborted || failure.reason === 'aborted') throw error;
    this.deps.metrics.upstreamErrors.inc({ kind: this.spec.kind, reason: 'body' });
    usage.add('upstreamFailedAttempts');
    if (attempt >= attempts) {
      usage.requestFailed(failure);
      throw error;
    }
    this.deps.log.info(
      { event: 'upstream_resume', key: this.spec.key, received: this.received, total: this.total, error: messageOf(error) },
      'upstream body failed; resuming',
    );
    await sleep(backoffDelay(attempt + 1, delayMs), this.deps.signal);
  }

  /** Runs a step of the docs' gzip check (none for tarballs); a refusal becomes the client's 502. */
  private async checkGzip(step: (gzip: GzipCheck) => Promise<void>): Promise<void> {
    if (!this.gzip) return;
    try {
      await step(this.gzip);
    } catch (error) {
      const bomb = error instanceof GzipBombError;
      this.deps.metrics.verificationFailures.inc({ kind: this.spec.kind, reason: bomb ? 'gzip_bomb' : 'bad_gzip' });
      this.deps.metrics.usage.add('verificationFailures');
      throw new Problem('upstream_failed', `refused upstream ${this.spec.key}: ${bomb ? error.message : `not a valid gzip file (${messageOf(error)})`}`);
    }
  }

  private async verify(sha256: string): Promise<void> {
    const { spec } = this;
    await this.checkGzip((gzip) => gzip.finish());
    if (spec.kind !== 'tarball') return;
    // A body of one chunk is all in before anything was sent: its head, too, waits for them.
    if (spec.checksumsArriving) await this.headWithChecksums();
    if (await this.matches(spec.checksums, sha256)) return;
    // The release may have been replaced upstream (the edit window): refresh the record once.
    if (spec.refreshChecksums && (await this.matches(await spec.refreshChecksums().catch(() => undefined), sha256))) return;
    this.deps.metrics.verificationFailures.inc({ kind: spec.kind, reason: 'checksum' });
    this.deps.metrics.usage.add('verificationFailures');
    throw new Problem(
      'upstream_failed',
      `refused upstream ${spec.key}: SHA-256 ${sha256} does not match the registry checksum ${spec.checksums?.outer ?? spec.checksums?.inner ?? '(none)'}`,
    );
  }

  private async matches(sums: ReleaseChecksums | undefined, sha256: string): Promise<boolean> {
    if (!sums) return false;
    if (sums.outer) return sums.outer === sha256;
    // Records from before outer checksums existed: check the inner one, as Hex does. (Such
    // bodies are never streamed live, so they have their file unless the disk refused it.)
    if (!this.spooling) return false;
    const summary = await readTarball(createReadStream(this.temp.path)).catch(() => undefined);
    return summary?.innerChecksum === sums.inner.toLowerCase();
  }

  /** The stored copy is still the upstream's: validated now, nothing written. */
  private async unchanged(result: 'not_modified' | 'unchanged'): Promise<CacheEntry> {
    const current = this.current!;
    const { spec, deps } = this;
    this.gzip?.dispose();
    this.temp.stream.destroy();
    await deps.store.discard(this.temp.path);
    if (this.upstreamEtag) current.upstreamEtag = this.upstreamEtag;
    deps.index.markValidated(current);
    deps.metrics.revalidations.inc({ kind: spec.kind, result });
    deps.log.info({ event: 'upstream_fetch', kind: spec.kind, key: spec.key, outcome: result }, `upstream ${result}`);
    return current;
  }

  /** Stores the verified body and records it (or has passed it through, if the disk refused it), then ends the client's response. */
  private async keep(sha256: string): Promise<CacheEntry | undefined> {
    const { spec, deps } = this;
    const now = Date.now();
    const upstreamEtag = this.upstreamEtag;
    const meta: StoredMeta = {
      size: this.received,
      sha256,
      ...(spec.kind === 'docs' && upstreamEtag ? { etag: upstreamEtag } : {}),
      ...(upstreamEtag ? { upstreamEtag } : {}),
      fetchedAt: now,
    };
    // A revalidated object replaces the stored one; a first fetch never overwrites another's.
    if (this.spooling)
      await deps.storage.persist(this.temp.path, spec.key, meta, { immutable: !this.current }).catch((error: unknown) => this.stopSpooling(error));
    if (!this.spooling) return this.passedThrough();
    const entry: CacheEntry = {
      ...describeKey(spec.key),
      ...meta,
      trust: spec.trust,
      ...(this.lastModified !== undefined ? { lastModified: this.lastModified } : {}),
      validatedAt: now,
      lastUsedAt: now,
      hits: 0,
    };
    deps.index.put(spec.key, entry);
    if (this.current) deps.metrics.revalidations.inc({ kind: spec.kind, result: 'changed' });
    if (this.endLive()) {
      deps.metrics.bytesServed.inc({ kind: spec.kind }, this.received);
      deps.metrics.usage.add('bytesServed', this.received);
    }
    deps.log.info(
      { event: 'upstream_fetch', kind: spec.kind, key: spec.key, outcome: 'stored', bytes: this.received, ms: this.elapsedMs() },
      'upstream stored',
    );
    if (this.announced) deps.listener?.ended(this.view, 'stored', undefined, { source: this.source });
    return entry;
  }

  private passedThrough(): undefined {
    const { spec, deps } = this;
    this.endLive();
    deps.metrics.bytesServed.inc({ kind: spec.kind }, this.received);
    deps.metrics.usage.add('bytesServed', this.received);
    deps.log.warn(
      { event: 'upstream_fetch', kind: spec.kind, key: spec.key, outcome: 'passed_through', bytes: this.received, ms: this.elapsedMs() },
      'upstream passed through, not stored',
    );
    if (this.announced) {
      const why = 'not kept: the cache disk is full or not writable';
      deps.listener?.ended(this.view, 'passed', why, { source: this.source, problem: new Problem('not_stored', why) });
    }
    return undefined;
  }

  /** Cleans up after a failure and says why: to the log, the event stream and the client being streamed to. */
  private async fail(error: unknown): Promise<Problem> {
    const { spec, deps } = this;
    this.gzip?.dispose();
    this.temp.stream.destroy();
    await deps.store.discard(this.temp.path);
    const outcome = toProblem(error, spec.key);
    deps.log.warn(
      { event: 'upstream_fetch', kind: spec.kind, key: spec.key, outcome: 'failed', problem: outcome.kind, error: outcome.message, ms: this.elapsedMs() },
      'upstream fetch failed',
    );
    this.sink?.abort(outcome);
    if (this.announced) deps.listener?.ended(this.view, 'failed', outcome.message, { source: this.source, problem: outcome });
    return outcome;
  }

  private elapsedMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }
}

/** "tarball plug 1.14.0", for what a client reads. */
export function describeRelease(spec: ArtifactSpec): string {
  const { package: name, version } = describeKey(spec.key);
  return `${spec.kind} ${name} ${version}`;
}

/** The 507 for an object the disk would not take when there is no client to pass it to. */
export function notKept(store: BlobStore, key: string, cause?: unknown): Problem {
  const why = cause ? `: ${messageOf(cause)}` : '';
  return new Problem('not_stored', `${key} could not be stored (${store.health.writable ? 'write failed' : 'the cache disk is full or not writable'})${why}`);
}

export function toProblem(error: unknown, key: string): Problem {
  if (error instanceof Problem) return error;
  // got's own errors (a body cut off mid-way) and those it wraps (a SlowBodyError) alike.
  const failure = asUpstreamError(error);
  if (failure.reason === 'offline') return new Problem('unavailable', `${key} is not cached and the upstream is disabled (offline mode)`);
  if (failure.reason === 'aborted') return new Problem('unavailable', 'the mirror is shutting down');
  return new Problem(problemKindOf(failure), `upstream failed for ${key}: ${failure.message}`);
}

async function closeTemp(temp: TempFile): Promise<void> {
  temp.stream.end();
  await finished(temp.stream);
}
