// Where a stored object's trust comes from (CacheEntry.trust), and whether it still holds
// under the current upstream. Signed registry records and the tarballs they pin are trusted
// under the upstream's signing key; everything else (docs, API answers, installs, the public
// key) only under the upstream it came from. After the upstream is switched (by an attacker
// with the token, say) and switched back, nothing kept under the other one is served as it
// is, and `verify` finds it.
import type { UpstreamConfig } from '../config/config.js';
import type { CacheEntry } from '../store/cache-index.js';
import type { ObjectKind } from '../store/keys.js';
import type { RegistryService } from './registry-service.js';
import type { ReleaseArtifacts } from './release-artifacts.js';

/** The upstream base URL an unsigned object of this kind comes from. */
export function upstreamBase(kind: Exclude<ObjectKind, 'registry' | 'tarball'>, upstream: UpstreamConfig): string {
  if (kind === 'api') return upstream.apiUrl;
  if (kind === 'installs') return upstream.buildsUrl;
  return upstream.url;
}

/** Why an intact stored object is not vouched for under the current upstream, or undefined. */
export type ProvenanceCheck = (key: string, entry: CacheEntry) => Promise<string | undefined>;

export function provenanceCheck(deps: { upstream: () => UpstreamConfig; registry: RegistryService; releases: ReleaseArtifacts }): ProvenanceCheck {
  return async (key, entry) => {
    switch (entry.kind) {
      case 'registry':
        return deps.registry.storedProblem(key);
      case 'tarball':
        return entry.package && entry.version ? deps.releases.tarballProblem(entry.package, entry.version) : undefined;
      default: {
        // Entries from before trust was recorded count as the current upstream's.
        const base = upstreamBase(entry.kind, deps.upstream());
        return entry.trust === undefined || entry.trust === base ? undefined : `came from another upstream (${entry.trust}), not ${base}`;
      }
    }
  };
}
