// A real HTTP client fetches a tarball through the mirror: the dashboard shows it in the
// traffic counters, the activity list and the cache list, live.
import { formatBytes } from '../../src-shared/format.js';
import { chromiumMissing, expect, hasChromium, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);

test('a client fetch appears in the traffic counters, the activity and the cache list', async ({ hub, page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hub.url });
  await hub.open(page, '#/overview');
  await expect(page.getByTestId('counter-misses')).toHaveText('0');
  await expect(page.getByTestId('hit-ratio')).toHaveText('—');

  // One-click copy of the HEX_MIRROR line.
  await page.getByRole('button', { name: 'Copy HEX_MIRROR export line' }).click();
  await expect(page.getByRole('button', { name: 'Copy HEX_MIRROR export line' })).toContainText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`export HEX_MIRROR=${hub.url}`);

  const release = hub.repo.release('plug', '1.14.0')!;
  const miss = await hub.fetch('/tarballs/plug-1.14.0.tar');
  expect(miss.status).toBe(200);
  expect(miss.body.equals(release.bytes)).toBe(true);

  await expect(page.getByTestId('counter-misses')).toHaveText('1');
  await expect(page.getByTestId('counter-served')).toHaveText(formatBytes(release.bytes.length));
  await expect(page.getByText('Downloaded plug 1.14.0')).toBeVisible();
  await expect(page.getByTestId('cache-packages')).toHaveText('1');

  const hit = await hub.fetch('/tarballs/plug-1.14.0.tar');
  expect(hit.headers['x-hexhub-cache']).toBe('HIT');
  await expect(page.getByTestId('counter-hits')).toHaveText('1');
  await expect(page.getByTestId('hit-ratio')).toHaveText('50%');
  await expect(page.getByTestId('counter-served')).toHaveText(formatBytes(2 * release.bytes.length));

  // Keyboard: Enter on the nav link opens the cache view.
  await page.getByRole('link', { name: /^Cache/ }).focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#\/cache$/);
  const [summary] = (await hub.api.listCache()).items;
  const row = page.getByRole('row', { name: /plug/ });
  await expect(row).toContainText('1.14.0');
  await expect(row).toContainText(formatBytes(summary!.size));
  await expect(row.getByRole('cell').last()).toHaveText('1');

  // A second fetch while the list is open shows up without a reload.
  await hub.fetch('/tarballs/mime-2.0.5.tar');
  await expect(page.getByRole('row', { name: /mime/ })).toBeVisible();
  await expect(page.getByTestId('list-count')).toHaveText('2 packages');

  // Search, then sort with Space on a column header.
  await page.getByLabel('Search packages').fill('mi');
  await expect(page.getByTestId('list-count')).toHaveText('1 package matching “mi”');
  await expect(page.getByRole('row', { name: /plug/ })).toHaveCount(0);
  await page.getByLabel('Search packages').fill('');
  await expect(page.getByTestId('list-count')).toHaveText('2 packages');
  await page.getByRole('button', { name: 'Size' }).focus();
  await page.keyboard.press('Space');
  await expect(page.getByRole('columnheader', { name: 'Size' })).toHaveAttribute('aria-sort', 'descending');
  await expect(page.getByTestId('package-rows').getByRole('row').first()).toContainText('plug');

  // The package detail: what is cached.
  await row.getByRole('link', { name: 'plug' }).click();
  await expect(page).toHaveURL(/#\/cache\/plug$/);
  const versions = page.getByRole('list', { name: 'Versions of plug' });
  await expect(versions.getByRole('listitem').filter({ hasText: '1.14.0' })).toContainText('cached');
  await expect(versions.getByRole('listitem').filter({ hasText: '1.15.3' })).toContainText('not cached');
  await expect(page.getByRole('cell', { name: 'tarballs/plug-1.14.0.tar' })).toBeVisible();
});
