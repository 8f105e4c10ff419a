// What the artifact cache needs to know of one tarball or docs tarball: where it comes from,
// how it is served, its bounds, and what it must match.
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
  /**
   * Tarballs of a package whose registry record is fetched alongside (a cold registry): the
   * download starts at once, and the transfer waits for the checksums before its head goes out
   * or its body is judged, so the first tarball costs one upstream round trip, not two.
   */
  checksumsArriving?: Promise<ReleaseChecksums>;
  refreshChecksums?: () => Promise<ReleaseChecksums | undefined>;
}
