// The dashboard's one way to the control API: the typed client from src-shared, same origin.
// In the desktop app the access token comes from the preload (window.hexhub, see
// src-shared/ipc-contract.ts). In a browser there is none: the session cookie that the
// sign-in link set goes with every request, with the session's page secret, which the sign-in
// page hands over in the URL fragment (#session=…) and which is kept in this origin's storage
// (other ports on this host get the cookie, never the secret). The page never holds the token.
import { createApiClient, type ApiClient } from '../src-shared/api-client';
import { SESSION_FRAGMENT } from '../src-shared/contract';
import type { HexhubBridge } from '../src-shared/ipc-contract';

declare global {
  interface Window {
    /** Set by the desktop app's preload; undefined in a plain browser. */
    hexhub?: HexhubBridge;
  }
}

const SECRET_KEY = 'hexhub-session-secret';

function desktopToken(): string {
  const fromPreload = window.hexhub?.token;
  return typeof fromPreload === 'string' ? fromPreload : '';
}

/** Takes a page secret from the fragment (then drops it from the address bar and history), else the stored one. */
function sessionSecret(): string {
  const given = new RegExp(`^#${SESSION_FRAGMENT}=([\\w-]+)$`).exec(window.location.hash)?.[1];
  if (given) {
    try {
      window.localStorage.setItem(SECRET_KEY, given);
    } catch {
      // Storage refused (a private window's policy): this tab keeps it in memory.
    }
    window.history.replaceState(null, '', '#/overview');
    return given;
  }
  try {
    return window.localStorage.getItem(SECRET_KEY) ?? '';
  } catch {
    return '';
  }
}

const token = desktopToken();
// Read (and taken off the address bar) in the desktop window too, which signs in the same way.
const secret = sessionSecret();

// The page is always loaded from the engine's own origin (browser and desktop window alike).
export const api: ApiClient = createApiClient({ baseUrl: '', token, sessionSecret: secret });
