// Every view in light and dark, from the stressed state of issue #14 (60-character names, 30-name
// jobs, failures, an upstream lost mid-job, evictions, narrow windows, a stopped mirror): saved
// under test-results/screenshots/ and copied to docs/screenshots/ for the README.
import { chromiumMissing, expect, hasChromium, mixLock, sized, snapshot, test } from './fixtures.js';
import type { Page } from '@playwright/test';
import { expectLayoutHolds } from './layout-checks.js';
import { jobThatLosesItsUpstream, LONG_NAMES, publishLongNames, slowJob } from './stress.js';

test.skip(!hasChromium, chromiumMissing);

const SCHEMES = ['light', 'dark'] as const;

/** Toasts left from earlier steps are not part of the view. */
async function dismissToasts(page: Page): Promise<void> {
  for (const dismiss of await page.locator('.toasts').getByRole('button', { name: 'Dismiss' }).all()) await dismiss.click();
}

test('screenshots of every view, light and dark, under real use', async ({ hub, page }) => {
  test.setTimeout(180_000);
  // The strict CSP and the code must get along: no console errors, no uncaught exceptions.
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  await publishLongNames(hub);
  // Two big releases, fetched first: the least recently used, so the size cap below evicts them.
  await hub.repo.publish(sized({ name: 'big_assets', version: '1.0.0' }, 420));
  await hub.repo.publish(sized({ name: 'big_assets', version: '1.1.0' }, 420));
  await hub.api.updateSettings({ prewarmConcurrency: 4 });
  // Client traffic: misses, then hits; a pre-warm from a lock (counted apart).
  for (const path of [
    '/tarballs/big_assets-1.0.0.tar',
    '/tarballs/big_assets-1.1.0.tar',
    '/tarballs/phoenix-1.7.10.tar',
    '/tarballs/plug-1.15.3.tar',
    '/tarballs/plug-1.14.0.tar',
    '/tarballs/jason-1.4.1.tar',
    '/tarballs/cowboy-2.10.0.tar',
    `/tarballs/${LONG_NAMES[0]}-1.0.0.tar`,
    `/tarballs/${LONG_NAMES[1]}-1.0.0.tar`,
  ]) {
    expect((await hub.fetch(path)).status).toBe(200);
  }
  for (const path of ['/tarballs/phoenix-1.7.10.tar', '/tarballs/plug-1.15.3.tar', '/tarballs/phoenix-1.7.10.tar', '/tarballs/jason-1.4.1.tar'])
    await hub.fetch(path);
  const lock = mixLock(hub.repo, [
    ['ecto', '3.11.1'],
    ['decimal', '2.1.1'],
    ['telemetry', '1.2.1'],
    ['jason', '1.4.1'],
  ]);
  const locked = await hub.api.startPrewarm({ lockfile: { name: 'mix.lock', content: lock } });
  await expect.poll(async () => (await hub.api.job(locked.id)).state).toBe('done');

  // A 30-name job that loses its upstream halfway, watched live; a client request fails meanwhile.
  await hub.open(page, '#/overview');
  await jobThatLosesItsUpstream(hub);
  await hub.fetch('/tarballs/cowlib-2.12.1.tar');
  await expect(page.getByTestId('upstream-banner')).toBeVisible();
  await hub.upstream.start();
  hub.upstream.fault.clear();
  await hub.fetch('/tarballs/cowlib-2.12.1.tar');
  await expect(page.getByTestId('upstream-banner')).toHaveCount(0);

  // Lowering the size cap: what it would evict, before anything goes.
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(`${hub.url}/#/disk`);
  await page.getByLabel('Limit the cache size').check();
  await page.getByLabel('Size cap', { exact: true }).fill('1');
  await page.getByLabel('Size cap unit').selectOption('MiB');
  await page.getByRole('button', { name: 'Apply cap' }).click();
  await expect(page.getByTestId('cap-preview')).toContainText('big_assets');
  await snapshot(page, 'cap-preview-light');
  await page.getByRole('button', { name: 'Evict and apply cap' }).click();
  await expect(page.getByTestId('disk-cap')).toHaveText('1.00 MiB');

  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme });

    await page.goto(`${hub.url}/#/overview`);
    await expect(page.getByTestId('counter-hits')).not.toHaveText('0');
    await expect(page.getByTestId('activity')).toContainText('Evicted (size cap)');
    await dismissToasts(page);
    await snapshot(page, `overview-${scheme}`);

    await page.goto(`${hub.url}/#/cache`);
    await expect(page.getByRole('row', { name: /phoenix/ })).toBeVisible();
    await dismissToasts(page);
    await snapshot(page, `cache-${scheme}`);

    await page.goto(`${hub.url}/#/cache/big_assets`);
    await expect(page.getByRole('list', { name: 'Versions of big_assets' })).toContainText('evicted (size cap)');
    await page.goto(`${hub.url}/#/cache/plug`);
    await expect(page.getByRole('list', { name: 'Versions of plug' })).toBeVisible();
    await page.getByRole('button', { name: '1.15.3', exact: true }).click();
    await dismissToasts(page);
    await snapshot(page, `package-${scheme}`);

    await page.goto(`${hub.url}/#/disk`);
    await expect(page.getByTestId('chart-by-package').locator('.recharts-bar-rectangle').first()).toBeVisible();
    await dismissToasts(page);
    await snapshot(page, `disk-${scheme}`);

    await page.goto(`${hub.url}/#/settings`);
    await expect(page.getByLabel('Registry TTL')).toHaveValue('300');
    await dismissToasts(page);
    await snapshot(page, `settings-${scheme}`);
  }

  // Downloads while a 30-name job runs slowly, next to the one that lost its upstream.
  await slowJob(hub);
  await page.goto(`${hub.url}/#/downloads`);
  await expect(page.getByTestId('job').first()).toHaveAttribute('data-state', 'running');
  await expect(page.getByTestId('transfers').locator('.transfer').first()).toContainText(/\d+ B|KiB/);
  // Taller, so that the jobs show under the transfers.
  await page.setViewportSize({ width: 1280, height: 1240 });
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme });
    await dismissToasts(page);
    await snapshot(page, `downloads-${scheme}`);
  }

  // Narrow windows: 900 px with a long-named package open, 720 px on the jobs.
  await page.setViewportSize({ width: 900, height: 700 });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(`${hub.url}/#/cache/${LONG_NAMES[0]}`);
  await expect(page.getByRole('list', { name: `Versions of ${LONG_NAMES[0]}` })).toBeVisible();
  await expectLayoutHolds(page, 'cache at 900 px');
  await dismissToasts(page);
  await snapshot(page, 'cache-900-light');
  await page.setViewportSize({ width: 720, height: 800 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${hub.url}/#/downloads`);
  await page.getByTestId('job').first().scrollIntoViewIfNeeded();
  await expectLayoutHolds(page, 'downloads at 720 px');
  await dismissToasts(page);
  await snapshot(page, 'downloads-720-dark');

  // The mirror stopped: every view says so.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(`${hub.url}/#/overview`);
  await expect(page.getByTestId('mirror-state')).toContainText('Running');
  await hub.stop();
  await expect(page.getByTestId('mirror-banner')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('mirror-state')).toContainText('Not answering');
  await snapshot(page, 'mirror-down-light');
  expect(problems).toEqual([]);
});

test('the theme follows the OS, and data-theme overrides it', async ({ hub, page }) => {
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.emulateMedia({ colorScheme: 'light' });
  await hub.open(page, '#/settings');
  const light = await background();
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await background();
  expect(dark).not.toBe(light);
  await page.evaluate(() => document.documentElement.setAttribute('data-theme', 'light'));
  expect(await background()).toBe(light);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.getByLabel('Dark').check();
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
  expect(await background()).toBe(dark);
  // The choice is kept in this browser.
  await page.reload();
  expect(await background()).toBe(dark);
});
