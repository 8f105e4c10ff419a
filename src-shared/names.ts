// What a Hex package name and version may look like (hexpm package.ex, SemVer 2.0).
// Everything the mirror puts into a file path goes through here first, so a name
// that passes can never escape the data dir. Shared, so that the dashboard reads cache
// keys with the same checks the engine builds them with.
const NAME = /^[a-z][a-z0-9_]{0,127}$/;
const VERSION = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

export function isPackageName(value: string): boolean {
  return NAME.test(value);
}

export function isVersion(value: string): boolean {
  return value.length <= 128 && VERSION.test(value);
}

export interface Release {
  name: string;
  version: string;
}

/** Splits `NAME-VERSION` followed by `suffix`; names cannot contain `-`, so the first `-` separates them. */
export function parseReleaseFile(file: string, suffix: string): Release | undefined {
  if (!file.endsWith(suffix)) return undefined;
  const base = file.slice(0, -suffix.length);
  const dash = base.indexOf('-');
  if (dash <= 0) return undefined;
  const name = base.slice(0, dash);
  const version = base.slice(dash + 1);
  return isPackageName(name) && isVersion(version) ? { name, version } : undefined;
}
