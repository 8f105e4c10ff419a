// A release's tarball and docs: where they come from, when a stored copy is still the
// right one, and which copy a client gets (stored, revalidated, stale, or fetched). Shared by
// the repository routes and pre-warm jobs, so both follow the same verification rules.
import { messageOf } from '../../src-shared/problems.js';
import { createReadStream } from 'node:fs';
import type { Config } from '../config/config.js';
import { Problem } from '../core/problem.js';
import type { Metrics } from '../core/metrics.js';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheEntry, CacheIndex } from '../store/cache-index.js';
import { parseReleaseFile } from '../hex/names.js';
import { readTarball } from '../hex/tarball.js';
import { keys } from '../store/keys.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import type { ArtifactCache } from './artifact-cache.js';
import type { ArtifactSpec } from './artifact-spec.js';
import type { CachedCopy } from './cached-copy.js';
import { stillRunningAfter, type ClientDeadline } from './client-deadline.js';
import { upstreamBase } from './provenance.js';
import type { RegistryService } from './registry-service.js';
import type { ResponseSink } from './response-sink.js';

const OCTET = 'application/octet-stream';
const TARBALL_MAX = 256 * 1024 * 1024;
const DOCS_MAX = 512 * 1024 * 1024;

/** How each kind of artifact is served: its metric label, content type and how long clients may keep it. */
export const ARTIFACT_SERVING = {
  tarball: { kind: 'tarball', contentType: OCTET, cacheControl: 'public, max-age=604800' },
  docs: { kind: 'docs', contentType: OCTET, cacheControl: 'public, max-age=86400' },
} as const;

export class ReleaseArtifacts {
  constructor(
    private readonly config: () => Config,
    private readonly registry: RegistryService,
    private readonly artifacts: ArtifactCache,
    private readonly index: CacheIndex,
    private readonly store: BlobStore,
    private readonly upstream: UpstreamClient,
    private readonly metrics: Metrics,
  ) {}

  tarballSpec(name: string, version: string): ArtifactSpec {
    return {
      ...ARTIFACT_SERVING.tarball,
      key: keys.tarball(name, version),
      url: `${this.config().upstream.url}/tarballs/${name}-${version}.tar`,
      maxBytes: TARBALL_MAX,
      trust: this.registry.fingerprint,
    };
  }

  docsSpec(name: string, version: string): ArtifactSpec {
    return {
      ...ARTIFACT_SERVING.docs,
      key: keys.docs(name, version),
      url: `${this.config().upstream.url}/docs/${name}-${version}.tar.gz`,
      maxBytes: DOCS_MAX,
      // Docs are not signed: all that vouches for them is the upstream they came from.
      trust: upstreamBase('docs', this.config().upstream),
    };
  }

  /**
   * A warm tarball hit that needs no I/O to decide on: the stored entry of `/tarballs/FILE`
   * whose checksum a registry record decoded in memory still names (such records are always
   * verified under the current key). Undefined sends the request the normal way.
   */
  warmTarball(file: string): { key: string; entry: CacheEntry } | undefined {
    const release = parseReleaseFile(file, '.tar');
    if (!release) return undefined;
    const key = keys.tarball(release.name, release.version);
    const entry = this.index.get(key);
    const known = entry && this.registry.peekReleaseInMemory(release.name, release.version);
    return entry && known?.outer === entry.sha256 ? { key, entry } : undefined;
  }

  /**
   * The stored tarball, if it matches the release's checksum in a registry record verified
   * under the current upstream key: a release replaced upstream (the edit window) shows up as
   * a new checksum, and a tarball kept under an earlier upstream's key (one an attacker may
   * have switched to and back) is only served once the current key's record vouches for it.
   * With no such record stored, it is fetched (online) or the tarball is not served.
   */
  async storedTarball(name: string, version: string, deadline?: ClientDeadline): Promise<CacheEntry | undefined> {
    const entry = this.index.get(keys.tarball(name, version));
    if (!entry) return undefined;
    let known = await this.registry.peekRelease(name, version);
    if (!known && this.upstream.enabled) {
      // No record verified under the current key (or it lacks the release): get one as its TTL says.
      await this.registry.package(name, { deadline }).catch(() => undefined);
      known = await this.registry.peekRelease(name, version);
    }
    const trust = this.registry.fingerprint;
    if (!known) return entry.trust === trust ? entry : undefined;
    if (known.outer) {
      if (known.outer !== entry.sha256) return undefined;
    } else if (entry.trust !== trust) {
      // A record from before outer checksums: the inner checksum, read from the tarball itself.
      const summary = await readTarball(createReadStream(this.store.path(keys.tarball(name, version)))).catch(() => undefined);
      if (summary?.innerChecksum !== known.inner.toLowerCase()) return undefined;
    }
    if (entry.trust !== trust) this.index.annotate(entry, { trust });
    return entry;
  }

  /** Why a stored tarball is not vouched for by the current key's registry record, or undefined; for `verify`. */
  async tarballProblem(name: string, version: string): Promise<string | undefined> {
    if (await this.storedTarball(name, version)) return undefined;
    const known = await this.registry.peekRelease(name, version);
    if (!known)
      return `no registry record verified with the current upstream key lists ${name} ${version}${this.upstream.enabled ? '' : ' (offline: it cannot be fetched to check)'}`;
    return `does not match the checksum in the registry record verified with the current upstream key (${known.outer ?? known.inner})`;
  }

  /** Whether stored docs came from the current upstream (see docsSpec); from before that was recorded counts as yes. */
  docsFromCurrentUpstream(entry: CacheEntry): boolean {
    return entry.trust === undefined || entry.trust === upstreamBase('docs', this.config().upstream);
  }

  private offline(key: string): Problem {
    if (this.index.get(key))
      return new Problem(
        'unavailable',
        `the stored ${key} is not vouched for under the current upstream (its key or address changed), and it cannot be checked again while the upstream is disabled (offline mode)`,
      );
    return new Problem('unavailable', `${key} is not cached and the upstream is disabled (offline mode)`);
  }

  /** The spec with the registry checksums it must match (fetching the record as needed). */
  private async verifiedTarballSpec(name: string, version: string, deadline?: ClientDeadline): Promise<ArtifactSpec> {
    const spec = this.tarballSpec(name, version);
    spec.checksums = await this.registry.release(name, version, { deadline });
    spec.refreshChecksums = () => this.registry.release(name, version, { force: true, deadline });
    return spec;
  }

  /**
   * A client's miss: the download starts at once and the registry record is fetched (or read)
   * alongside; the transfer waits for its checksums before anything reaches the client.
   */
  private tarballSpecWithChecksumsArriving(name: string, version: string, deadline: ClientDeadline): ArtifactSpec {
    const spec = this.tarballSpec(name, version);
    const arriving = this.registry.release(name, version, { deadline });
    // A download that fails first never asks for them; their failure must not go unhandled.
    arriving.catch(() => undefined);
    spec.checksumsArriving = arriving;
    spec.refreshChecksums = () => this.registry.release(name, version, { force: true, deadline });
    return spec;
  }

  /**
   * The copy of a tarball a client gets: the stored one if the registry vouches for it, else
   * a download (streamed to `sink`, resolving to nothing, or the stored result to serve).
   */
  async findTarball(name: string, version: string, sink: ResponseSink): Promise<CachedCopy | undefined> {
    const key = keys.tarball(name, version);
    const entry = await this.storedTarball(name, version, sink.deadline);
    if (entry && (await this.artifacts.hasLocalCopy(key))) return { key, entry, state: 'HIT' };
    if (!this.upstream.enabled) throw this.offline(key);
    // A cold registry (no record stored): both requests at once. Otherwise the record (stored,
    // or revalidated within its budget) comes first, so an unknown release never costs a tarball request.
    const spec = this.index.get(keys.package(name))
      ? await this.verifiedTarballSpec(name, version, sink.deadline)
      : this.tarballSpecWithChecksumsArriving(name, version, sink.deadline);
    return this.artifacts.fetch(spec, sink);
  }

  /** The copy of docs a client gets: the stored one (see docsCopy) if they came from the current upstream, else a download. */
  async findDocs(name: string, version: string, sink: ResponseSink): Promise<CachedCopy | undefined> {
    const spec = this.docsSpec(name, version);
    const entry = this.index.get(spec.key);
    if (entry && this.docsFromCurrentUpstream(entry) && (await this.artifacts.hasLocalCopy(spec.key))) return this.docsCopy(spec, entry);
    if (!this.upstream.enabled) throw this.offline(spec.key);
    return this.artifacts.fetch(spec, sink);
  }

  /**
   * Docs can be replaced upstream at any time, so a stored copy older than the docs TTL is
   * revalidated (a conditional request) before it is served, for at most the revalidation
   * budget; past that, or when the upstream fails or is known to be down, the stored copy is
   * served stale and the revalidation, if any, finishes in the background.
   */
  private async docsCopy(spec: ArtifactSpec, entry: CacheEntry): Promise<CachedCopy> {
    const { key } = spec;
    if (Date.now() - entry.validatedAt < this.config().docsTtlSeconds * 1000) return { key, entry, state: 'HIT' };
    const stale = (staleReason: string): CachedCopy => {
      this.metrics.staleServes.inc({ kind: 'docs' });
      this.metrics.usage.add('staleServes');
      return { key, entry, state: 'STALE', staleReason };
    };
    if (!this.upstream.enabled) return stale('upstream disabled (offline mode)');
    if (this.upstream.unreachable) return stale(`upstream unreachable: ${this.upstream.health.lastError ?? 'no answer'}`);
    const revalidation = this.artifacts.revalidate(spec, entry);
    const budget = this.upstream.revalidateBudgetMs;
    if (await stillRunningAfter(revalidation, budget)) return stale(`upstream did not answer within ${budget} ms; revalidating in the background`);
    try {
      const fresh = await revalidation;
      // Undefined: a new body passed through without being kept (a full disk); the stored one stays.
      return fresh ? { key, entry: fresh, state: 'REVALIDATED' } : { key, entry, state: 'HIT' };
    } catch (error) {
      return stale(messageOf(error));
    }
  }

  /** Stores the tarball unless a current copy is already there; `fetched` says which. */
  async ensureTarball(name: string, version: string): Promise<{ entry: CacheEntry; fetched: boolean }> {
    const entry = await this.storedTarball(name, version);
    if (entry && (await this.artifacts.intact(this.tarballSpec(name, version).key, entry))) return { entry, fetched: false };
    if (!this.upstream.enabled) throw this.offline(keys.tarball(name, version));
    return this.artifacts.ensure(await this.verifiedTarballSpec(name, version));
  }

  /** Stores the docs unless they are already there; for the scrub's re-fetch. */
  async ensureDocs(name: string, version: string): Promise<{ entry: CacheEntry; fetched: boolean }> {
    const spec = this.docsSpec(name, version);
    const entry = this.index.get(spec.key);
    if (entry && this.docsFromCurrentUpstream(entry) && (await this.artifacts.intact(spec.key, entry))) return { entry, fetched: false };
    if (!this.upstream.enabled) throw this.offline(spec.key);
    return this.artifacts.ensure(spec);
  }
}
