// The upstream going down shows the banner (cached content is still served); it clears
// when the upstream answers again.
import { chromiumMissing, expect, hasChromium, snapshot, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);

test('upstream down shows the banner, and coming back clears it', async ({ hub, page }) => {
  expect((await hub.fetch('/tarballs/plug-1.14.0.tar')).status).toBe(200);
  await hub.open(page, '#/overview');
  const banner = page.getByTestId('upstream-banner');
  await expect(page.getByTestId('upstream-state')).toContainText('Reachable');
  await expect(banner).toHaveCount(0);

  await hub.upstream.stop();
  // A package that is not cached needs the upstream: the request fails, and the mirror
  // marks the upstream unreachable.
  expect((await hub.fetch('/tarballs/ecto-3.11.1.tar')).status).toBeGreaterThanOrEqual(500);
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('Upstream unreachable — cached content is still served.');
  await expect(banner).toContainText(/Last error.*(ECONNREFUSED|unreachable)/);
  await expect(page.getByTestId('upstream-state')).toContainText('Unreachable');
  await expect(page.locator('.activity')).toContainText('Upstream unreachable');
  // What is cached is still served.
  expect((await hub.fetch('/tarballs/plug-1.14.0.tar')).status).toBe(200);
  await page.emulateMedia({ colorScheme: 'light' });
  await snapshot(page, 'upstream-down-light');

  await hub.upstream.start();
  expect((await hub.fetch('/tarballs/ecto-3.11.1.tar')).status).toBe(200);
  await expect(banner).toHaveCount(0);
  await expect(page.getByTestId('upstream-state')).toContainText('Reachable');
  await expect(page.getByText('Upstream reachable again')).toBeVisible();
});

test('offline mode from the banner’s action and back', async ({ hub, page }) => {
  await hub.open(page, '#/overview');
  await hub.upstream.stop();
  await hub.fetch('/tarballs/ecto-3.11.1.tar');
  await page.getByTestId('upstream-banner').getByRole('button', { name: 'Work offline' }).click();
  await expect(page.getByTestId('offline-banner')).toBeVisible();
  await expect(page.getByTestId('upstream-banner')).toHaveCount(0);
  await expect(page.getByRole('switch', { name: 'Offline mode' })).toBeChecked();
  expect((await hub.api.settings()).values.upstreamEnabled).toBe(false);
  await hub.upstream.start();
  // Space toggles the switch back.
  await page.getByRole('switch', { name: 'Offline mode' }).focus();
  await page.keyboard.press('Space');
  await expect(page.getByTestId('offline-banner')).toHaveCount(0);
  expect((await hub.api.settings()).values.upstreamEnabled).toBe(true);
});

test('a failing upstream shows as degraded while requests are retried, before it is given up on', async ({ hub, page }) => {
  // Many retries with a growing delay: eight 503s in a row keep a client waiting for seconds.
  await hub.api.updateSettings({ retryAttempts: 10 });
  await hub.open(page, '#/overview');
  hub.upstream.fault.status503({ path: '/tarballs/', times: 8 });
  const waiting = hub.fetch('/tarballs/ecto-3.11.1.tar');
  await expect(page.getByTestId('upstream-state')).toHaveAttribute('data-state', 'degraded');
  await expect(page.getByTestId('upstream-state')).toContainText('Degraded — retrying');
  expect((await waiting).status).toBe(200);
  await expect(page.getByTestId('upstream-state')).toHaveAttribute('data-state', 'reachable');
});
