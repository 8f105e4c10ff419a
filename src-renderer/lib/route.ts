// Hash routing: #/overview, #/cache, #/cache/NAME, #/downloads, #/disk, #/settings.
import { useSyncExternalStore } from 'react';

export type View = 'overview' | 'cache' | 'downloads' | 'disk' | 'settings';
export const VIEWS: View[] = ['overview', 'cache', 'downloads', 'disk', 'settings'];

export interface Route {
  view: View;
  /** The package open in the cache view. */
  param?: string;
}

export function parseHash(hash: string): Route {
  const [first, second] = hash.replace(/^#\/?/, '').split('/');
  const view = (VIEWS as string[]).includes(first ?? '') ? (first as View) : 'overview';
  if (view === 'cache' && second) return { view, param: decodeURIComponent(second) };
  return { view };
}

export function href(view: View, param?: string): string {
  return `#/${view}${param ? `/${encodeURIComponent(param)}` : ''}`;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseHash(hash);
}

export function navigate(view: View, param?: string): void {
  window.location.hash = href(view, param);
}
