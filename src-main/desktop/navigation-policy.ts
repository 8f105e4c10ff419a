// Where the app's web contents may go. The window shows the dashboard and nothing else: it
// navigates only within the dashboard's own origin; http(s) links elsewhere open in the
// user's browser (where they belong, with its protections and the user's sessions); every
// other scheme, new windows, <webview> tags and permission requests are refused. This is the
// Electron security checklist's "limit navigation", "limit new windows" and "handle
// permission requests" in one place.
import type { Session, WebContents } from 'electron';

export type NavigationDecision = 'allow' | 'external' | 'deny';

/** The URL as an absolute http(s) URL without credentials, or undefined. */
export function webUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  // user:pass@ URLs are a classic way to disguise where a link goes.
  if (url.username || url.password) return undefined;
  return url.toString();
}

/** A navigation in the window: stay on the dashboard, hand web links to the browser, refuse the rest. */
export function decideNavigation(url: string, dashboardOrigin: string): NavigationDecision {
  const target = webUrl(url);
  if (!target) return 'deny';
  return new URL(target).origin === dashboardOrigin ? 'allow' : 'external';
}

/**
 * window.open and target=_blank never make an app window (a second window would need its
 * own policy and the dashboard has no use for one): web links, the dashboard's own included,
 * open in the browser, which can show the dashboard too.
 */
export function decideNewWindow(url: string): 'external' | 'deny' {
  return webUrl(url) ? 'external' : 'deny';
}

/**
 * Permissions the dashboard may have: writing to the clipboard (its copy buttons), and only
 * from its own origin. Camera, notifications, geolocation and the rest are refused.
 */
export function permissionAllowed(permission: string, requestingUrl: string, dashboardOrigin: string): boolean {
  if (permission !== 'clipboard-sanitized-write') return false;
  try {
    return new URL(requestingUrl).origin === dashboardOrigin;
  } catch {
    return false;
  }
}

type PolicyContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/** Applies the policy to one web contents (main.ts calls this for every one created). */
export function applyNavigationPolicy(contents: PolicyContents, dashboardOrigin: string, openExternal: (url: string) => void): void {
  contents.on('will-navigate', (event) => {
    const decision = decideNavigation(event.url, dashboardOrigin);
    if (decision === 'allow') return;
    event.preventDefault();
    if (decision === 'external') openExternal(webUrl(event.url)!);
  });
  // Subframes (will-navigate covers only the main frame): off-origin is refused outright,
  // since a frame cannot have been a link the user clicked to leave the app.
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame && decideNavigation(event.url, dashboardOrigin) !== 'allow') event.preventDefault();
  });
  // A redirect could take an allowed navigation elsewhere; our server never redirects off-origin.
  contents.on('will-redirect', (event) => {
    if (decideNavigation(event.url, dashboardOrigin) !== 'allow') event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (decideNewWindow(url) === 'external') openExternal(webUrl(url)!);
    return { action: 'deny' };
  });
}

/** Refuses every permission request and check except those permissionAllowed lets through. */
export function applyPermissionPolicy(session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>, dashboardOrigin: string): void {
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(permissionAllowed(permission, details.requestingUrl, dashboardOrigin));
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin, dashboardOrigin));
}
