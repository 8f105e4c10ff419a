// Names of stored objects. A key is also the object's relative path under the cache
// folder, so keys are only ever built here, from validated names.
import { isPackageName, isVersion } from '../hex/names.js';

export type ObjectKind = 'registry' | 'tarball' | 'docs' | 'installs' | 'api' | 'public_key';

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

/** Path segments under /installs/ that may become file names (no dot-files, no traversal). */
export function safeSegments(segments: string[]): boolean {
  return segments.length > 0 && segments.length <= 4 && segments.every((s) => SAFE_SEGMENT.test(s) && s !== '..' && s !== '.');
}

export function describeKey(key: string): KeyInfo {
  const [top, ...rest] = key.split('/');
  switch (top) {
    case 'registry':
      return rest[0] === 'packages' ? { kind: 'registry', package: rest[1] } : { kind: 'registry' };
    case 'tarballs':
    case 'docs': {
      const file = rest.join('/').replace(/\.tar(\.gz)?$/, '');
      const dash = file.indexOf('-');
      return { kind: top === 'tarballs' ? 'tarball' : 'docs', package: file.slice(0, dash), version: file.slice(dash + 1) };
    }
    case 'api':
      return { kind: 'api', package: rest[2], ...(rest[3] === 'releases' ? { version: rest[4] } : {}) };
    case 'installs':
      return { kind: 'installs' };
    default:
      return { kind: 'public_key' };
  }
}

export function isValidKey(key: string): boolean {
  const info = describeKey(key);
  if (info.package !== undefined && !isPackageName(info.package)) return false;
  if (info.version !== undefined && !isVersion(info.version)) return false;
  return key.split('/').every((s) => SAFE_SEGMENT.test(s));
}
