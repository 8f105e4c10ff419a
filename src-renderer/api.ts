// The dashboard's one way to the control API: the typed client from src-shared, same origin,
// with the access token from the desktop app's preload (window.hexhub, see
// src-shared/ipc-contract.ts) when there is one, otherwise from the
// <meta name="hexhub-token"> that the local server puts into the page.
import { createApiClient, type ApiClient } from '../src-shared/api-client';
import type { HexhubBridge } from '../src-shared/ipc-contract';

declare global {
  interface Window {
    /** Set by the desktop app's preload; undefined in a plain browser. */
    hexhub?: HexhubBridge;
  }
}

export function readToken(): string | null {
  const fromPreload = window.hexhub?.token;
  if (typeof fromPreload === 'string' && fromPreload) return fromPreload;
  const meta = document.querySelector<HTMLMetaElement>('meta[name="hexhub-token"]');
  return meta?.content ? meta.content : null;
}

export const token = readToken();

// The page is always loaded from the engine's own origin (browser and desktop window alike).
export const api: ApiClient = createApiClient({ baseUrl: '', token: token ?? '' });
