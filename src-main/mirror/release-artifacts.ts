// A release's tarball and docs: where they come from, when a stored copy is still the
// right one, and how they are served or fetched. Shared by the repository routes and
// pre-warm jobs, so both follow the same verification rules.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/config.js';
import { HttpError } from '../server/http-error.js';
import type { Metrics } from '../server/metrics.js';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheEntry, CacheIndex } from '../store/cache-index.js';
import { parseReleaseFile } from '../hex/names.js';
import { sendWithoutIo } from '../server/respond.js';
import { keys } from '../store/keys.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import type { ArtifactCache, ArtifactSpec } from './artifact-cache.js';
import type { RegistryService } from './registry-service.js';

const OCTET = 'application/octet-stream';
const TARBALL_MAX = 256 * 1024 * 1024;
const TARBALL_CACHE = 'public, max-age=604800';
const DOCS_MAX = 512 * 1024 * 1024;

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
      key: keys.tarball(name, version),
      kind: 'tarball',
      url: `${this.config().upstream.url}/tarballs/${name}-${version}.tar`,
      contentType: OCTET,
      cacheControl: TARBALL_CACHE,
      maxBytes: TARBALL_MAX,
    };
  }

  docsSpec(name: string, version: string): ArtifactSpec {
    return {
      key: keys.docs(name, version),
      kind: 'docs',
      url: `${this.config().upstream.url}/docs/${name}-${version}.tar.gz`,
      contentType: OCTET,
      cacheControl: 'public, max-age=86400',
      maxBytes: DOCS_MAX,
    };
  }

  /**
   * A warm tarball hit answered straight from memory, before any routing; false sends the
   * request the normal way. Only what needs no I/O qualifies: a tarball in the hot cache
   * whose registry record is decoded in memory and still names its checksum.
   */
  serveWarmTarball(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !url.startsWith('/tarballs/')) return false;
    const release = parseReleaseFile(url.slice('/tarballs/'.length), '.tar');
    if (!release) return false;
    const key = keys.tarball(release.name, release.version);
    const entry = this.index.get(key);
    const known = entry && this.registry.peekReleaseInMemory(release.name, release.version);
    if (!entry || known === null || (known?.outer && known.outer !== entry.sha256)) return false;
    const sent = sendWithoutIo(req, res, this.store, key, entry, { contentType: OCTET, cacheControl: TARBALL_CACHE, cacheState: 'HIT' });
    if (!sent) return false;
    this.index.touch(entry);
    this.metrics.hits.inc({ kind: 'tarball' });
    this.metrics.bytesServed.inc({ kind: 'tarball' }, sent.bytes);
    return true;
  }

  /**
   * The stored tarball, if it still matches the stored registry record: a release replaced
   * upstream (the edit window) shows up as a new checksum in the record.
   */
  async storedTarball(name: string, version: string): Promise<CacheEntry | undefined> {
    const entry = this.index.get(keys.tarball(name, version));
    if (!entry) return undefined;
    const known = await this.registry.peekRelease(name, version);
    return !known?.outer || known.outer === entry.sha256 ? entry : undefined;
  }

  private offline(key: string): HttpError {
    return new HttpError(503, `${key} is not cached and the upstream is disabled (offline mode)`);
  }

  /** The spec with the registry checksums it must match (fetching the record as needed). */
  private async verifiedTarballSpec(name: string, version: string): Promise<ArtifactSpec> {
    const spec = this.tarballSpec(name, version);
    spec.checksums = await this.registry.release(name, version);
    spec.refreshChecksums = () => this.registry.release(name, version, { force: true });
    return spec;
  }

  async serveTarball(req: IncomingMessage, res: ServerResponse, name: string, version: string): Promise<void> {
    const spec = this.tarballSpec(name, version);
    const entry = await this.storedTarball(name, version);
    if (entry && (await this.artifacts.serveHit(req, res, spec, entry))) {
      this.metrics.hits.inc({ kind: 'tarball' });
      return;
    }
    if (!this.upstream.enabled) throw this.offline(spec.key);
    await this.artifacts.fetchAndServe(req, res, await this.verifiedTarballSpec(name, version));
  }

  async serveDocs(req: IncomingMessage, res: ServerResponse, name: string, version: string): Promise<void> {
    const spec = this.docsSpec(name, version);
    const entry = this.index.get(spec.key);
    if (entry && (await this.artifacts.serveHit(req, res, spec, entry))) {
      this.metrics.hits.inc({ kind: 'docs' });
      return;
    }
    if (!this.upstream.enabled) throw this.offline(spec.key);
    await this.artifacts.fetchAndServe(req, res, spec);
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
    if (entry && (await this.artifacts.intact(spec.key, entry))) return { entry, fetched: false };
    if (!this.upstream.enabled) throw this.offline(spec.key);
    return this.artifacts.ensure(spec);
  }
}
