// Where the window may go: the dashboard's own origin stays, web links go to the browser, the
// rest is refused. Electron's WebContents and Session are replaced by fakes (electron-fakes.ts).
import type { Session, WebContents } from 'electron';
import { describe, expect, it } from 'vitest';
import {
  applyNavigationPolicy,
  applyPermissionPolicy,
  decideNavigation,
  decideNewWindow,
  permissionAllowed,
  webUrl,
} from '../../../src-main/desktop/navigation-policy.js';
import { asElectron, FakeSession, FakeWebContents, fakeEvent } from './electron-fakes.js';

const ORIGIN = 'http://127.0.0.1:4000';

describe('decideNavigation', () => {
  it.each([
    ['http://127.0.0.1:4000/', 'allow'],
    ['http://127.0.0.1:4000/#/cache/phoenix', 'allow'],
    ['http://127.0.0.1:4000/metrics', 'allow'],
    ['http://127.0.0.1:4001/', 'external'],
    ['http://localhost:4000/', 'external'],
    ['https://hex.pm/packages/phoenix', 'external'],
    ['https://127.0.0.1:4000/', 'external'],
    ['file:///etc/passwd', 'deny'],
    ['javascript:alert(1)', 'deny'],
    ['data:text/html,<script>1</script>', 'deny'],
    ['chrome://settings', 'deny'],
    ['mailto:me@example.com', 'deny'],
    ['https://user:secret@hex.pm/', 'deny'],
    ['not a url', 'deny'],
  ])('%s → %s', (url, decision) => {
    expect(decideNavigation(url, ORIGIN)).toBe(decision);
  });
});

describe('decideNewWindow', () => {
  it('never opens an app window: web links go to the browser, the rest nowhere', () => {
    expect(decideNewWindow('https://hexdocs.pm/phoenix')).toBe('external');
    expect(decideNewWindow('http://127.0.0.1:4000/')).toBe('external');
    expect(decideNewWindow('file:///home/me/.ssh/id_rsa')).toBe('deny');
    expect(decideNewWindow('about:blank')).toBe('deny');
  });
});

describe('webUrl', () => {
  it('accepts absolute http(s) URLs only', () => {
    expect(webUrl('https://hex.pm')).toBe('https://hex.pm/');
    expect(webUrl('/relative')).toBeUndefined();
    expect(webUrl(42)).toBeUndefined();
    expect(webUrl('ftp://example.com/')).toBeUndefined();
  });
});

describe('applyNavigationPolicy', () => {
  function apply() {
    const contents = new FakeWebContents();
    const opened: string[] = [];
    applyNavigationPolicy(asElectron<Pick<WebContents, 'on' | 'setWindowOpenHandler'>>(contents), ORIGIN, (url) => opened.push(url));
    return { contents, opened };
  }

  it('lets the dashboard navigate within itself', () => {
    const { contents, opened } = apply();
    const event = fakeEvent({ url: 'http://127.0.0.1:4000/#/settings' });
    contents.emit('will-navigate', event);
    expect(event.defaultPrevented).toBe(false);
    expect(opened).toEqual([]);
  });

  it('opens links to other sites in the browser instead of the window', () => {
    const { contents, opened } = apply();
    const event = fakeEvent({ url: 'https://hex.pm/packages/jason' });
    contents.emit('will-navigate', event);
    expect(event.defaultPrevented).toBe(true);
    expect(opened).toEqual(['https://hex.pm/packages/jason']);
  });

  it('refuses other schemes without opening anything', () => {
    const { contents, opened } = apply();
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'data:text/html,x']) {
      const event = fakeEvent({ url });
      contents.emit('will-navigate', event);
      expect(event.defaultPrevented).toBe(true);
    }
    expect(opened).toEqual([]);
  });

  it('refuses redirects and subframe navigations off the dashboard', () => {
    const { contents, opened } = apply();
    const redirect = fakeEvent({ url: 'https://evil.example/' });
    contents.emit('will-redirect', redirect);
    expect(redirect.defaultPrevented).toBe(true);
    const frame = fakeEvent({ url: 'https://evil.example/', isMainFrame: false });
    contents.emit('will-frame-navigate', frame);
    expect(frame.defaultPrevented).toBe(true);
    const sameOriginFrame = fakeEvent({ url: 'http://127.0.0.1:4000/x', isMainFrame: false });
    contents.emit('will-frame-navigate', sameOriginFrame);
    expect(sameOriginFrame.defaultPrevented).toBe(false);
    expect(opened).toEqual([]);
  });

  it('blocks <webview> and every new window, sending web links to the browser', () => {
    const { contents, opened } = apply();
    const webview = fakeEvent();
    contents.emit('will-attach-webview', webview, {}, {});
    expect(webview.defaultPrevented).toBe(true);
    expect(contents.openHandler!({ url: 'https://hexdocs.pm/jason' })).toEqual({ action: 'deny' });
    expect(contents.openHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://hexdocs.pm/jason']);
  });
});

describe('permissions', () => {
  it('lets only the dashboard write to the clipboard and refuses everything else', () => {
    expect(permissionAllowed('clipboard-sanitized-write', 'http://127.0.0.1:4000/', ORIGIN)).toBe(true);
    expect(permissionAllowed('clipboard-sanitized-write', 'https://evil.example/', ORIGIN)).toBe(false);
    expect(permissionAllowed('clipboard-read', 'http://127.0.0.1:4000/', ORIGIN)).toBe(false);
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'fullscreen', 'unknown']) {
      expect(permissionAllowed(permission, 'http://127.0.0.1:4000/', ORIGIN)).toBe(false);
    }
  });

  it('answers requests and checks through the session', () => {
    const session = new FakeSession();
    applyPermissionPolicy(asElectron<Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>>(session), ORIGIN);
    expect(session.request('media', 'http://127.0.0.1:4000/')).toBe(false);
    expect(session.request('clipboard-sanitized-write', 'http://127.0.0.1:4000/')).toBe(true);
    expect(session.checkHandler!({}, 'geolocation', 'http://127.0.0.1:4000')).toBe(false);
    expect(session.checkHandler!({}, 'clipboard-sanitized-write', 'http://127.0.0.1:4000')).toBe(true);
  });
});
