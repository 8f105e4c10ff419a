// Cache keys: the names of stored objects. The engine builds them and reads them back (from
// its index, the cache folder, a shared bucket); the dashboard reads them in events. A key is
// also the object's relative path under the cache folder, so keys are only ever built here,
// from validated names, and a key read back passes the same checks before it is trusted.
import type { ObjectKind } from './contract.js';
import { isPackageName, isVersion, parseReleaseFile } from './names.js';

export type { ObjectKind };

export interface KeyInfo {
  kind: ObjectKind;
  package?: string;
  version?: string;
}

export const keys = {
  names: () => 'registry/names',
  versions: () => 'registry/versions',
  package: (name: string) => `registry/packages/${name}`,
  tarball: (name: string, version: string) => `tarballs/${name}-${version}.tar`,
  docs: (name: string, version: string) => `docs/${name}-${version}.tar.gz`,
  publicKey: () => 'public_key',
  api: (variant: string, name: string, version?: string) =>
    version === undefined ? `api/${variant}/packages/${name}/index` : `api/${variant}/packages/${name}/releases/${version}`,
  installs: (segments: string[]) => `installs/${segments.join('/')}`,
};

const SAFE_SEGMENT = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,127}$/;
/** The content type an API answer is kept under (json, erlang): clients ask for either. */
const API_VARIANT = /^[a-z]{1,16}$/;

/** Path segments under /installs/ that may become file names (no dot-files, no traversal). */
export function safeSegments(segments: string[]): boolean {
  return segments.length > 0 && segments.length <= 4 && segments.every((s) => SAFE_SEGMENT.test(s) && s !== '..' && s !== '.');
}

/** What a key names, or undefined for any string that `keys` would not have built. */
export function parseKey(key: string): KeyInfo | undefined {
  // Names and versions are checked as such; the few other free segments as safe file names.
  const [top, ...rest] = key.split('/');
  switch (top) {
    case 'registry':
      if (rest.length === 1 && (rest[0] === 'names' || rest[0] === 'versions')) return { kind: 'registry' };
      return rest.length === 2 && rest[0] === 'packages' && isPackageName(rest[1]!) ? { kind: 'registry', package: rest[1]! } : undefined;
    case 'tarballs':
    case 'docs': {
      const release = rest.length === 1 ? parseReleaseFile(rest[0]!, top === 'tarballs' ? '.tar' : '.tar.gz') : undefined;
      return release ? { kind: top === 'tarballs' ? 'tarball' : 'docs', package: release.name, version: release.version } : undefined;
    }
    case 'api': {
      const [variant, packages, name, what, version] = rest;
      if (!API_VARIANT.test(variant ?? '') || packages !== 'packages' || !isPackageName(name ?? '')) return undefined;
      if (rest.length === 4 && what === 'index') return { kind: 'api', package: name! };
      return rest.length === 5 && what === 'releases' && isVersion(version!) ? { kind: 'api', package: name!, version: version! } : undefined;
    }
    case 'installs':
      return safeSegments(rest) ? { kind: 'installs' } : undefined;
    case 'public_key':
      return rest.length === 0 ? { kind: 'public_key' } : undefined;
    default:
      return undefined;
  }
}

export function isValidKey(key: string): boolean {
  return parseKey(key) !== undefined;
}

/** What a key names, for keys that `keys` built or isValidKey passed; anything else is a bug. */
export function describeKey(key: string): KeyInfo {
  const info = parseKey(key);
  if (!info) throw new Error(`not a cache key: ${JSON.stringify(key)}`);
  return info;
}
