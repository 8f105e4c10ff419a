// Hash routing: #/overview, #/cache, #/cache/NAME, #/downloads, #/disk, #/settings.
// A view with unsaved edits can hold a change of view until the user decides (leave guard).
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

/** The hash shown, and a change of view the guard is holding back. */
let current = window.location.hash;
let held: string | null = null;
let guard: (() => boolean) | null = null;
const listeners = new Set<() => void>();

function notify() {
  for (const listener of listeners) listener();
}

window.addEventListener('hashchange', () => {
  const next = window.location.hash;
  if (next === current) return;
  if (guard?.() && parseHash(next).view !== parseHash(current).view) {
    // Put the address back (without another hashchange) and ask first.
    window.history.replaceState(null, '', current || '#/overview');
    held = next;
  } else current = next;
  notify();
});

/** While `dirty()` says so, leaving the view waits for `leaveAnyway` or `stay`; returns the remover. */
export function setLeaveGuard(dirty: () => boolean): () => void {
  guard = dirty;
  const onUnload = (e: BeforeUnloadEvent) => {
    if (dirty()) e.preventDefault();
  };
  window.addEventListener('beforeunload', onUnload);
  return () => {
    if (guard === dirty) guard = null;
    window.removeEventListener('beforeunload', onUnload);
  };
}

/** The view change the guard holds back, if any. */
export function useHeldNavigation(): string | null {
  return useSyncExternalStore(subscribe, () => held);
}

export function leaveAnyway(): void {
  const to = held;
  held = null;
  guard = null;
  if (to !== null) {
    current = to;
    window.location.hash = to;
  }
  notify();
}

export function stay(): void {
  held = null;
  notify();
}

function subscribe(onChange: () => void): () => void {
  // api.ts may have taken the sign-in fragment off the address since this module loaded.
  if (!listeners.size && held === null) current = window.location.hash;
  listeners.add(onChange);
  return () => listeners.delete(onChange);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => current);
  return parseHash(hash);
}

export function navigate(view: View, param?: string): void {
  window.location.hash = href(view, param);
}
