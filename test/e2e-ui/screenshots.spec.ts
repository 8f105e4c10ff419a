// Every view in light and dark, with real data: saved under test-results/screenshots/ and
// copied to docs/screenshots/ for the README.
import { chromiumMissing, expect, hasChromium, mixLock, sized, snapshot, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);

const SCHEMES = ['light', 'dark'] as const;

test('screenshots of every view, light and dark', async ({ hub, page }) => {
  test.setTimeout(120_000);
  // The strict CSP and the code must get along: no console errors, no uncaught exceptions.
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  // Some traffic: misses, then hits, a pre-warm from a lock, a size cap.
  for (const path of [
    '/tarballs/phoenix-1.7.10.tar',
    '/tarballs/plug-1.15.3.tar',
    '/tarballs/plug-1.14.0.tar',
    '/tarballs/jason-1.4.1.tar',
    '/tarballs/cowboy-2.10.0.tar',
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
  await hub.api.startPrewarm({ lockfile: { name: 'mix.lock', content: lock } });
  await hub.api.updateSettings({ sizeCapBytes: 64 * 1024 * 1024 });

  await hub.open(page, '#/overview');
  // Activity while the window is open.
  for (const path of ['/tarballs/cowlib-2.12.1.tar', '/tarballs/ranch-1.8.0.tar', '/tarballs/mime-2.0.5.tar', '/tarballs/cowboy-2.10.0.tar'])
    await hub.fetch(path);
  await expect(page.getByText('Downloaded mime 2.0.5')).toBeVisible();

  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme });

    await page.goto(`${hub.url}/#/overview`);
    await expect(page.getByTestId('counter-hits')).not.toHaveText('0');
    await snapshot(page, `overview-${scheme}`);

    await page.goto(`${hub.url}/#/cache`);
    await expect(page.getByRole('row', { name: /phoenix/ })).toBeVisible();
    await snapshot(page, `cache-${scheme}`);

    await page.goto(`${hub.url}/#/cache/mime`);
    await expect(page.getByRole('list', { name: 'Versions of mime' })).toBeVisible();
    await page.goto(`${hub.url}/#/cache/plug`);
    await expect(page.getByRole('list', { name: 'Versions of plug' })).toBeVisible();
    await page.getByRole('button', { name: '1.15.3', exact: true }).click();
    await snapshot(page, `package-${scheme}`);

    await page.goto(`${hub.url}/#/disk`);
    await expect(page.getByTestId('chart-by-package').locator('.recharts-bar-rectangle').first()).toBeVisible();
    await snapshot(page, `disk-${scheme}`);

    await page.goto(`${hub.url}/#/settings`);
    await expect(page.getByLabel('Registry TTL')).toHaveValue('300');
    await snapshot(page, `settings-${scheme}`);
  }

  // Downloads while a pre-warm is under way: throttled transfers, so both themes catch it live.
  await hub.repo.publish(sized({ name: 'hpax', version: '0.2.0' }, 16));
  await hub.repo.publish(sized({ name: 'websock', version: '0.5.3' }, 48));
  await hub.repo.publish(sized({ name: 'thousand_island', version: '1.3.5' }, 160));
  hub.upstream.fault.bytesPerSecond(12_000, { path: '/tarballs/' });
  await page.goto(`${hub.url}/#/downloads`);
  await page.getByLabel('Package names').check();
  await page.getByLabel('Packages', { exact: true }).fill('thousand_island websock hpax');
  await page.getByRole('button', { name: 'Start pre-warm' }).click();
  await expect(page.getByTestId('job').first()).toHaveAttribute('data-state', 'running');
  await expect(page.getByTestId('transfers').locator('.transfer').first()).toContainText(/\d+(\.\d+)? KiB/);
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.getByLabel('Package names').blur();
    for (const dismiss of await page.getByRole('button', { name: 'Dismiss' }).all()) await dismiss.click();
    await snapshot(page, `downloads-${scheme}`);
  }
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
