// Numbers, sizes and times as the dashboard shows them. Sizes use binary units, like the
// size cap setting (10G = 10 GiB).

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatCount(n: number): string {
  return integer.format(n);
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${UNITS[unit]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatPercent(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return '—';
  return `${(ratio * 100).toFixed(1).replace(/\.0$/, '')}%`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60 ? `${m % 60} min` : ''}`.trim();
  return `${Math.floor(h / 24)} d ${h % 24 ? `${h % 24} h` : ''}`.trim();
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export function formatDateTime(ms: number | undefined): string {
  return ms ? dateTime.format(ms) : '—';
}

export function formatTime(ms: number): string {
  return timeOnly.format(ms);
}

/** "just now", "5 min ago", "3 d ago"; a date beyond a month. */
export function formatAgo(ms: number | undefined, now = Date.now()): string {
  if (!ms) return '—';
  const s = Math.round((now - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.floor(h / 24);
  if (d < 31) return `${d} d ago`;
  return dateTime.format(ms);
}

export interface KeyInfo {
  kind: 'tarball' | 'docs' | 'registry' | 'installs' | 'api' | 'public_key' | 'other';
  name?: string;
  version?: string;
  label: string;
}

/** A cache key (tarballs/plug-1.14.0.tar, registry/packages/plug, …) as people read it. */
export function describeKey(key: string): KeyInfo {
  let m = /^tarballs\/([a-z][a-z0-9_]*)-(.+)\.tar$/.exec(key);
  if (m) return { kind: 'tarball', name: m[1]!, version: m[2]!, label: `${m[1]} ${m[2]}` };
  m = /^docs\/([a-z][a-z0-9_]*)-(.+)\.tar\.gz$/.exec(key);
  if (m) return { kind: 'docs', name: m[1]!, version: m[2]!, label: `${m[1]} ${m[2]} docs` };
  m = /^registry\/packages\/(.+)$/.exec(key);
  if (m) return { kind: 'registry', name: m[1]!, label: `${m[1]} registry record` };
  if (key.startsWith('registry/')) return { kind: 'registry', label: `registry ${key.slice('registry/'.length)}` };
  if (key.startsWith('installs/')) return { kind: 'installs', label: key.slice('installs/'.length) };
  if (key.startsWith('api/')) {
    const api = /^api\/packages\/([a-z][a-z0-9_]*)/.exec(key);
    return { kind: 'api', ...(api ? { name: api[1]! } : {}), label: `API ${key.slice(4)}` };
  }
  if (key.includes('public_key')) return { kind: 'public_key', label: 'repository public key' };
  return { kind: 'other', label: key };
}

export const KIND_LABELS: Record<string, string> = {
  tarball: 'Tarballs',
  docs: 'Docs',
  registry: 'Registry records',
  installs: 'Installs',
  api: 'API answers',
  public_key: 'Public key',
};
