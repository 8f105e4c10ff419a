// A full cache disk (the data dir on a small tmpfs that really runs out of space): the
// dashboard says so while downloads are passed through, and the banner clears by itself
// once space is freed and caching resumes.
import { rm } from 'node:fs/promises';
import { fillDisk, canMountTmpfs } from '../support/tmpfs.js';
import { chromiumMissing, expect, hasChromium, snapshot, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);
// Under CI=true, canMountTmpfs throws when it cannot mount: a failure, not a skip.
test.skip(!canMountTmpfs(), 'cannot mount a tmpfs here (needs root)');
test.use({ hubTmpfsBytes: 8 * 1024 * 1024 });

test('a full disk shows the banner while downloads pass through; freeing space clears it', async ({ hub, page }) => {
  expect((await hub.fetch('/tarballs/plug-1.14.0.tar')).status).toBe(200);
  await hub.open(page, '#/overview');
  const banner = page.getByTestId('storage-banner');
  await expect(banner).toHaveCount(0);

  const filler = await fillDisk(hub.dataDir);
  const cold = await hub.fetch('/tarballs/phoenix-1.7.10.tar');
  expect(cold.status).toBe(200);
  expect(cold.body.equals(hub.repo.release('phoenix', '1.7.10')!.bytes)).toBe(true);
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('Cache disk: disk full — new downloads are passed through without being kept.');
  await expect(banner).toContainText(/ENOSPC/);
  await expect(page.locator('.activity')).toContainText('Passed through, not kept: phoenix 1.7.10');
  expect((await hub.fetch('/tarballs/plug-1.14.0.tar')).headers['x-hexhub-cache']).toBe('HIT');
  await page.emulateMedia({ colorScheme: 'light' });
  await snapshot(page, 'disk-full-light');

  await rm(filler);
  expect((await hub.fetch('/tarballs/phoenix-1.7.10.tar')).status).toBe(200);
  await expect(banner).toHaveCount(0);
  await expect(page.locator('.activity')).toContainText('caching resumed');
  expect((await hub.fetch('/tarballs/phoenix-1.7.10.tar')).headers['x-hexhub-cache']).toBe('HIT');
});
