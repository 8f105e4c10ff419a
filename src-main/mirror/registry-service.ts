// The registry side of the mirror: /names, /versions and /packages/NAME, verified the way
// Hex and rebar3 verify them, and the release checksums that tarballs are checked against.
import { messageOf } from '../../src-shared/problems.js';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  keyFingerprint,
  loadPublicKey,
  RegistryError,
  verifyRegistryBody,
  type PackageRecord,
  type RegistryKind,
  type VerifiedRecord,
} from '../hex/registry.js';
import { Problem } from '../core/problem.js';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheIndex } from '../store/cache-index.js';
import { keys } from '../store/keys.js';
import type { UpstreamConfig } from '../config/config.js';
import { VerificationError, type GetOptions, type MutableResult, type MutableSpec, type RevalidatingCache } from './revalidating-cache.js';

export interface ReleaseChecksums {
  outer?: string;
  inner: string;
}

/** Registry bodies are small (hex.pm's /versions is a few MB); this bounds a hostile one. */
const MAX_REGISTRY_BYTES = 64 * 1024 * 1024;
/** Decoded package records kept in memory for tarball checks; least recently used go first. */
const RECORD_CACHE_SIZE = 5000;

export class RegistryService {
  private key: KeyObject;
  /** The current key's fingerprint: what every stored record and tarball is checked to be verified under. */
  private keyId: string;
  private readonly records = new Map<string, Map<string, ReleaseChecksums>>();
  /** Who waits for a package's record fetched right now, told as soon as it is verified (see release). */
  private readonly verifying = new Map<string, Set<(releases: Map<string, ReleaseChecksums>) => void>>();

  constructor(
    private upstream: UpstreamConfig,
    private readonly ttlMs: () => number,
    private readonly cache: RevalidatingCache,
    private readonly store: BlobStore,
    private readonly index: CacheIndex,
  ) {
    this.key = loadPublicKey(upstream.publicKeyPem);
    this.keyId = keyFingerprint(upstream.publicKeyPem);
  }

  updateConfig(upstream: UpstreamConfig): void {
    this.upstream = upstream;
    this.key = loadPublicKey(upstream.publicKeyPem);
    this.keyId = keyFingerprint(upstream.publicKeyPem);
    // Checksums decoded under the previous key are not evidence under this one.
    this.records.clear();
  }

  get fingerprint(): string {
    return this.keyId;
  }

  private async verify(body: Buffer, kind: RegistryKind, packageName?: string): Promise<VerifiedRecord> {
    try {
      return await verifyRegistryBody(body, this.key, { kind, repository: this.upstream.repoName, ...(packageName ? { packageName } : {}) });
    } catch (error) {
      if (error instanceof RegistryError) throw Object.assign(new VerificationError(error.message), { code: error.code });
      throw error;
    }
  }

  private spec(kind: RegistryKind, packageName?: string): MutableSpec {
    const path = kind === 'package' ? `/packages/${packageName}` : `/${kind}`;
    return {
      key: kind === 'package' ? keys.package(packageName!) : kind === 'names' ? keys.names() : keys.versions(),
      kind: 'registry',
      label: kind === 'package' ? `package ${packageName}` : `the registry's ${path}`,
      url: this.upstream.url + path,
      ttlMs: this.ttlMs(),
      maxBytes: MAX_REGISTRY_BYTES,
      trust: this.keyId,
      reverifyLocally: true,
      verify: (body) => this.verify(body, kind, packageName),
      onStored: (verified) => {
        const result = verified as VerifiedRecord;
        if (result.kind === 'package') this.remember(result.record);
      },
      onVerified: (verified) => {
        const result = verified as VerifiedRecord;
        if (result.kind !== 'package') return;
        const waiters = this.verifying.get(result.record.name);
        if (!waiters) return;
        const releases = this.remember(result.record);
        for (const waiter of waiters) waiter(releases);
      },
    };
  }

  names(options: GetOptions = {}): Promise<MutableResult> {
    return this.cache.get(this.spec('names'), options);
  }

  versions(options: GetOptions = {}): Promise<MutableResult> {
    return this.cache.get(this.spec('versions'), options);
  }

  package(name: string, options: GetOptions = {}): Promise<MutableResult> {
    return this.cache.get(this.spec('package', name), options);
  }

  private remember(record: PackageRecord): Map<string, ReleaseChecksums> {
    const releases = new Map<string, ReleaseChecksums>();
    for (const r of record.releases) releases.set(r.version, { inner: r.innerChecksum, ...(r.outerChecksum ? { outer: r.outerChecksum } : {}) });
    this.records.delete(record.name);
    this.records.set(record.name, releases);
    if (this.records.size > RECORD_CACHE_SIZE) this.records.delete(this.records.keys().next().value!);
    return releases;
  }

  /** The stored record, decoded (and re-verified, as the disk is not trusted blindly). */
  async storedRecord(name: string): Promise<PackageRecord | undefined> {
    if (!this.index.get(keys.package(name))) return undefined;
    try {
      const body = await readFile(this.store.path(keys.package(name)));
      return (await this.verify(body, 'package', name)).record as PackageRecord;
    } catch {
      return undefined;
    }
  }

  /** Why a stored registry record does not verify under the current key, or undefined; for `verify`. */
  async storedProblem(key: string): Promise<string | undefined> {
    const [, kind, name] = key.split('/') as [string, string, string | undefined];
    try {
      await this.verify(await readFile(this.store.path(key)), kind === 'packages' ? 'package' : (kind as RegistryKind), name);
      return undefined;
    } catch (error) {
      return `does not verify with the current upstream key (${this.keyId}): ${messageOf(error)}`;
    }
  }

  /** The package's record, fetched or revalidated as its TTL says (from memory when the disk would not take it). */
  async record(name: string): Promise<PackageRecord | undefined> {
    const result = await this.package(name);
    if (result.unstored) return (await this.verify(result.unstored, 'package', name)).record as PackageRecord;
    return this.storedRecord(name);
  }

  /** Checksums from the records decoded in memory: undefined for an unknown release, null if the record is not in memory. */
  peekReleaseInMemory(name: string, version: string): ReleaseChecksums | undefined | null {
    const releases = this.records.get(name);
    return releases ? releases.get(version) : null;
  }

  /** Checksums of a release from what is stored, without touching the network. */
  async peekRelease(name: string, version: string): Promise<ReleaseChecksums | undefined> {
    let releases = this.records.get(name);
    if (!releases) {
      const record = await this.storedRecord(name);
      if (!record) return undefined;
      releases = this.remember(record);
    }
    return releases.get(version);
  }

  /**
   * Checksums of a release, fetching or revalidating the record as its TTL says; if the
   * release is unknown, the record is refreshed once (it may have just been published).
   */
  async release(name: string, version: string, options: GetOptions = {}): Promise<ReleaseChecksums> {
    const fetching = this.package(name, options);
    // A fresh record's checksums are good as soon as it is verified: a download waiting for
    // them (a cold registry's first tarball) need not also wait for the record to be stored.
    const early = (await this.verifiedDuring(name, fetching))?.get(version);
    if (early) {
      fetching.catch(() => undefined);
      return early;
    }
    const first = await fetching;
    let found = await this.peekRelease(name, version);
    // Only a copy served from the TTL can be behind; a fresh or stale answer is the best there is.
    if (!found && first.state === 'HIT') {
      await this.package(name, { ...options, force: true });
      found = await this.peekRelease(name, version);
    }
    if (!found) throw new Problem('not_found', `${name} has no release ${version} in the registry`);
    return found;
  }

  /** The releases of `name`'s record if a fresh copy is verified while `fetching` runs, else undefined once it settles. */
  private verifiedDuring(name: string, fetching: Promise<unknown>): Promise<Map<string, ReleaseChecksums> | undefined> {
    return new Promise((resolve) => {
      let waiters = this.verifying.get(name);
      if (!waiters) this.verifying.set(name, (waiters = new Set()));
      const done = (releases?: Map<string, ReleaseChecksums>) => {
        waiters.delete(waiter);
        if (waiters.size === 0 && this.verifying.get(name) === waiters) this.verifying.delete(name);
        resolve(releases);
      };
      const waiter = (releases: Map<string, ReleaseChecksums>) => done(releases);
      waiters.add(waiter);
      fetching.then(
        () => done(),
        () => done(),
      );
    });
  }
}
