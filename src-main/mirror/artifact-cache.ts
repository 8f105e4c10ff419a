// Immutable artifacts (tarballs and docs): fetched once, verified, kept for good.
//
// A cold miss streams to the client that asked while the bytes are hashed and written to a
// temporary file (transfer.ts: one download, step by step). Clients that ask for the same
// object meanwhile wait for the one upstream request and are served from the file.
//
// When the disk cannot take the object (full, read-only), a transfer that is streaming to
// a client carries on without keeping it: the body is still verified before its last chunk
// goes out, the temporary file is removed, and the storage health says why. Without a
// client to stream to (pre-warm, or a body that must be verified before serving) the
// answer is a 507.
import type { Logger } from 'pino';
import { SingleFlight } from '../core/single-flight.js';
import type { Metrics } from '../core/metrics.js';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheEntry, CacheIndex } from '../store/cache-index.js';
import type { ObjectStorage } from '../store/object-storage.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import type { ArtifactSpec } from './artifact-spec.js';
import type { CachedCopy } from './cached-copy.js';
import { withinClientDeadline } from './client-deadline.js';
import type { ResponseSink } from './response-sink.js';
import { describeRelease, notKept, toProblem, Transfer, type TransferDeps, type TransferListener } from './transfer.js';

export type { TransferListener };

export class ArtifactCache {
  /** Each resolves to the stored entry, or undefined if the body was passed through without being kept. */
  private readonly flights = new SingleFlight<string, CacheEntry | undefined>();
  private readonly deps: TransferDeps;

  constructor(
    store: BlobStore,
    storage: ObjectStorage,
    index: CacheIndex,
    upstream: UpstreamClient,
    log: Logger,
    metrics: Metrics,
    retry: () => { attempts: number; delayMs: number },
    signal: AbortSignal,
    listener?: TransferListener,
  ) {
    this.deps = { store, storage, index, upstream, log, metrics, retry, signal, listener };
  }

  /** Transfers in flight now. */
  get active(): number {
    return this.flights.size;
  }

  /** Resolves once every transfer in flight has finished or cleaned up after itself. */
  settle(): Promise<void> {
    return this.flights.settle();
  }

  /** Whether a stored object can be served from here: always with local storage; with shared storage once copied in (a transfer takes it from the bucket). */
  async hasLocalCopy(key: string): Promise<boolean> {
    return !this.deps.storage.shared || (await this.deps.store.size(key)) !== undefined;
  }

  /** Whether the stored file is there with the size the index says (a cheap check, not a re-hash). */
  async intact(key: string, entry: CacheEntry): Promise<boolean> {
    const { store, storage, index } = this.deps;
    const size = await store.size(key);
    if (size === entry.size) return true;
    // Shared storage: not copied here yet; ensure() takes it from the bucket.
    if (size === undefined && storage.shared) return false;
    index.delete(key);
    await store.remove(key);
    return false;
  }

  /**
   * Makes sure the artifact is stored, joining a transfer in flight; for pre-warm (and the
   * scrub's re-fetch). Counted as a pre-warm download, never as a client's miss, so the hit
   * ratio says how builds were served.
   */
  async ensure(spec: ArtifactSpec): Promise<{ entry: CacheEntry; fetched: boolean }> {
    if (!this.flights.get(spec.key)) {
      this.deps.metrics.misses.inc({ kind: spec.kind });
      this.deps.metrics.usage.add('prewarmFetches');
    }
    const entry = await this.flights.run(spec.key, () => new Transfer(this.deps, spec, undefined, undefined, 'prewarm').run());
    if (!entry) throw notKept(this.deps.store, spec.key);
    return { entry, fetched: true };
  }

  /**
   * Revalidates a stored object (docs past their TTL) with a conditional request: a 304 keeps
   * it (validated now), a changed body is verified and replaces it atomically, the same body
   * is not written again. One request however many ask; nobody is streamed to (clients are
   * answered from the store). Resolves to the entry to serve.
   */
  revalidate(spec: ArtifactSpec, current: CacheEntry): Promise<CacheEntry | undefined> {
    return this.flights.run(spec.key, () => new Transfer(this.deps, spec, undefined, current).run());
  }

  /**
   * Fetches a missing artifact for a client (one upstream request however many ask). The
   * client that starts the download is streamed to through `sink`, and answered through it
   * however the download ends: then this resolves to nothing. Otherwise it resolves to the
   * stored copy to serve (clients that joined, a body that had to be verified first).
   */
  async fetch(spec: ArtifactSpec, sink: ResponseSink): Promise<CachedCopy | undefined> {
    this.deps.metrics.misses.inc({ kind: spec.kind });
    this.deps.metrics.usage.add('misses');
    const label = describeRelease(spec);
    const running = this.flights.get(spec.key);
    if (running) {
      const entry = await withinClientDeadline(running, label, sink.deadline);
      // Passed through without being kept (a full disk): this client gets its own pass-through.
      if (!entry) return this.fetch(spec, sink);
      return { key: spec.key, entry, state: 'MISS', missCounted: true };
    }
    const transfer = new Transfer(this.deps, spec, sink);
    const flight = this.flights.run(spec.key, () => transfer.run());
    try {
      // Until the response has begun, the client waits only as long as it can; the transfer
      // then goes on without it and keeps the object for the next request.
      const entry = await withinClientDeadline(flight, label, sink.deadline, () => sink.started || transfer.upstreamAnswered);
      // Spooled (not streamed live): the verified file is what this client gets.
      return entry && !sink.started ? { key: spec.key, entry, state: 'MISS', missCounted: true } : undefined;
    } catch (error) {
      // Its deadline passed (the transfer has told it of its own failures already).
      sink.abort(toProblem(error, spec.key));
      return undefined;
    }
  }
}
