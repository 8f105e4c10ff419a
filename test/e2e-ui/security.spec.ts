// A web page from another origin cannot drive the control API or read the token, a page
// reached through a rebinding host name gets 403 even with the right token, and a browser
// signs in only through a one-time link (the page never carries the token).
import { chromium } from '@playwright/test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { writeSignInPage } from '../../src-main/cli/browser.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';
import { chromiumMissing, expect, hasChromium, snapshot, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('a token-less page on another origin cannot drive the API', async ({ hub, page }) => {
  // Same host, another port: "same-site" to the browser, but another origin.
  const other = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>elsewhere</title><p>another site</p>');
  });
  const otherUrl = await listen(other);
  try {
    await page.goto(`${otherUrl}/`);
    const outcome = await page.evaluate(async (mirror) => {
      const out: Record<string, string> = {};
      const attempt = async (name: string, run: () => Promise<string>) => {
        try {
          out[name] = await run();
        } catch (error) {
          out[name] = `refused (${(error as Error).name})`;
        }
      };
      await attempt('status', async () => {
        const r = await fetch(`${mirror}/-/api/status`);
        return `read ${r.status}: ${await r.text()}`;
      });
      await attempt('statusWithGuess', async () => {
        const r = await fetch(`${mirror}/-/api/status`, { headers: { 'x-hexhub-token': 'guessed-token' } });
        return `read ${r.status}`;
      });
      await attempt('opaque', async () => {
        const r = await fetch(`${mirror}/-/api/status`, { mode: 'no-cors' });
        return `${r.type} ${r.status} ${(await r.text()).length}`;
      });
      await attempt('dashboard', async () => {
        const r = await fetch(`${mirror}/`);
        return `read ${await r.text()}`;
      });
      await attempt('startJob', async () => {
        const r = await fetch(`${mirror}/-/api/jobs`, {
          method: 'POST',
          mode: 'no-cors',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ packages: ['phoenix'] }),
        });
        return r.type;
      });
      await attempt('deleteAll', async () => {
        const r = await fetch(`${mirror}/-/api/cache`, { method: 'DELETE' });
        return `read ${r.status}`;
      });
      await attempt(
        'events',
        () =>
          new Promise((resolve) => {
            const source = new EventSource(`${mirror}/-/api/events?token=guessed-token`);
            source.onmessage = (e) => resolve(`message ${String(e.data)}`);
            source.onerror = () => {
              source.close();
              resolve('error');
            };
          }),
      );
      return out;
    }, hub.url);

    expect(outcome.status).toMatch(/^refused/);
    expect(outcome.statusWithGuess).toMatch(/^refused/);
    expect(outcome.opaque).toBe('opaque 0 0');
    expect(outcome.dashboard).toMatch(/^refused/);
    expect(outcome.deleteAll).toMatch(/^refused/);
    expect(outcome.events).toBe('error');
    expect(JSON.stringify(outcome)).not.toContain(hub.token);
    // Nothing happened on the server.
    expect(await hub.api.jobs()).toEqual([]);
    await hub.fetch('/tarballs/plug-1.14.0.tar');
    expect((await hub.api.listCache()).total).toBe(1);

    // Nor can it frame the dashboard to read it.
    await page.setContent(`<iframe id="f" src="${hub.url}/"></iframe>`);
    await page.waitForTimeout(500);
    const framed = page.frames().find((f) => f.url().startsWith(hub.url));
    expect(
      framed ? await framed.evaluate(() => document.querySelector('meta[name=hexhub-token]')?.getAttribute('content') ?? null).catch(() => null) : null,
    ).toBeNull();
  } finally {
    await new Promise((resolve) => other.close(resolve));
  }
});

test('a page reached through a rebinding host name gets 403, even with the token', async ({ hub }) => {
  const port = new URL(hub.url).port;
  // The browser resolves an outside name to the mirror's loopback address, as DNS rebinding does.
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP rebind.hexhub.test 127.0.0.1'] });
  try {
    const page = await browser.newPage();
    const response = await page.goto(`http://rebind.hexhub.test:${port}/`);
    expect(response?.status()).toBe(403);
    expect(await page.content()).not.toContain(hub.token);
    const api = await page.evaluate(async (token) => {
      const r = await fetch('/-/api/status', { headers: { 'x-hexhub-token': token } });
      return { status: r.status, body: await r.text() };
    }, hub.token);
    expect(api.status).toBe(403);
    expect(api.body).toMatch(/is not this server/);
  } finally {
    await browser.close();
  }
});

test('a browser signs in through the one-time link `hexhub dashboard` opens, and nowhere else', async ({ hub, page, browser }) => {
  // Not signed in: a page that says how, and no dashboard.
  const bare = await page.goto(`${hub.url}/`);
  expect(bare?.status()).toBe(401);
  await expect(page.getByRole('heading', { name: 'Sign in to HexHub' })).toBeVisible();
  await expect(page.getByText('hexhub dashboard', { exact: true })).toBeVisible();
  expect(await page.content()).not.toContain(hub.token);
  await snapshot(page, 'sign-in');

  // The link arrives the way `hexhub dashboard` hands it over: a private file page that moves
  // on to it (a cross-site navigation for the browser), then the dashboard itself.
  const link = (await hub.api.loginLink()).url;
  const file = await writeSignInPage(link, hub.dataDir);
  await page.goto(pathToFileURL(file).href);
  await page.waitForURL(`${hub.url}/#/overview`);
  await expect(page.locator('[data-connection="live"]')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
  const cookies = await page.context().cookies(hub.url);
  expect(cookies).toEqual([expect.objectContaining({ name: `hexhub-session-${new URL(hub.url).port}`, httpOnly: true, sameSite: 'Strict' })]);
  expect(await page.evaluate(() => document.cookie)).toBe('');
  expect(await page.content()).not.toContain(hub.token);
  // The page secret left the address bar and history; a reload finds it in this origin's storage.
  expect(page.url()).not.toMatch(/session=/);
  await page.reload();
  await expect(page.locator('[data-connection="live"]')).toBeVisible();
  // The cookie alone, as a page on another port of this host would get it, opens no API.
  const cookieOnly = await fetch(`${hub.url}/-/api/status`, { headers: { cookie: `${cookies[0]!.name}=${cookies[0]!.value}` } });
  expect(cookieOnly.status).toBe(401);

  // The same link in another browser profile: used already.
  const other = await browser.newContext();
  try {
    const second = await other.newPage();
    expect((await second.goto(link))?.status()).toBe(401);
    await expect(second.getByRole('heading', { name: 'Sign-in link used or expired' })).toBeVisible();
    expect((await second.goto(`${hub.url}/`))?.status()).toBe(401);
  } finally {
    await other.close();
  }
});
