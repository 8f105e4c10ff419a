// Numbers, sizes and times as the dashboard shows them. Sizes come from src-shared, so the
// CLI prints the same units.
import { formatBytes } from '../../src-shared/format';
import { parseKey, type ObjectKind } from '../../src-shared/keys';

export { formatBytes };

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return integer.format(n);
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

/** A cache key (tarballs/plug-1.14.0.tar, registry/packages/plug, …) as people read it. */
export function keyLabel(key: string): string {
  const info = parseKey(key);
  switch (info?.kind) {
    case 'tarball':
      return `${info.package} ${info.version}`;
    case 'docs':
      return `${info.package} ${info.version} docs`;
    case 'registry':
      return info.package ? `${info.package} registry record` : `registry ${key.slice('registry/'.length)}`;
    case 'installs':
      return key.slice('installs/'.length);
    case 'api':
      return `API ${key.slice('api/'.length)}`;
    case 'public_key':
      return 'repository public key';
    default:
      return key;
  }
}

export const KIND_LABELS: Record<ObjectKind, string> = {
  tarball: 'Tarballs',
  docs: 'Docs',
  registry: 'Registry records',
  installs: 'Installs',
  api: 'API answers',
  public_key: 'Public key',
};
