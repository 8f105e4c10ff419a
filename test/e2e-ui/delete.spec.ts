// Deleting a package (after a confirmation) frees its space, as the disk view shows; a
// release can be deleted alone; retired releases are marked; verify reports its outcome.
import { formatBytes } from '../../src-shared/format.js';
import { chromiumMissing, expect, hasChromium, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);

test('deleting a package frees space on the disk view', async ({ hub, page }) => {
  for (const path of ['/tarballs/phoenix-1.7.10.tar', '/tarballs/plug-1.15.3.tar', '/tarballs/mime-2.0.5.tar'])
    expect((await hub.fetch(path)).status).toBe(200);
  const before = await hub.api.disk();
  await hub.open(page, '#/disk');
  await expect(page.getByTestId('disk-total')).toHaveText(formatBytes(before.totalBytes));
  await expect(page.getByTestId('chart-by-package')).toContainText('phoenix');

  await page.getByRole('link', { name: /^Cache/ }).click();
  await page.getByRole('link', { name: 'phoenix' }).click();
  await page.getByRole('button', { name: 'Delete package' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Delete phoenix from the cache?');
  // Escape cancels; nothing is deleted.
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  expect((await hub.api.disk()).totalBytes).toBe(before.totalBytes);

  await page.getByRole('button', { name: 'Delete package' }).click();
  await dialog.getByRole('button', { name: 'Delete package' }).click();
  await expect(page.getByText(/Deleted phoenix: freed/)).toBeVisible();
  await expect(page).toHaveURL(/#\/cache$/);
  await expect(page.getByRole('row', { name: /phoenix/ })).toHaveCount(0);

  const after = await hub.api.disk();
  expect(after.totalBytes).toBeLessThan(before.totalBytes - hub.repo.release('phoenix', '1.7.10')!.bytes.length + 1);
  await page.getByRole('link', { name: 'Disk' }).click();
  await expect(page.getByTestId('disk-total')).toHaveText(formatBytes(after.totalBytes));
  await expect(page.getByTestId('chart-by-package')).not.toContainText('phoenix');
  await expect(page.getByTestId('chart-by-package')).toContainText('plug');
});

test('a release is deleted alone, retired releases are marked, and verify shows its outcome', async ({ hub, page }) => {
  await hub.fetch('/tarballs/mime-2.0.5.tar');
  await hub.fetch('/tarballs/plug-1.15.3.tar');
  await hub.open(page, '#/cache/mime');
  const versions = page.getByRole('list', { name: 'Versions of mime' });
  await expect(versions.getByRole('listitem').filter({ hasText: '2.0.6' })).toContainText('retired: security');
  await expect(versions.getByRole('listitem').filter({ hasText: '2.0.5' })).toContainText('cached');
  await page.getByRole('button', { name: 'Delete release 2.0.5' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete release' }).click();
  await expect(page.getByText(/Deleted mime 2\.0\.5: freed/)).toBeVisible();
  await expect(versions.getByRole('listitem').filter({ hasText: '2.0.5' })).toContainText('not cached');

  await page.getByRole('button', { name: 'Verify cache' }).click();
  await expect(page.getByTestId('verify-outcome')).toContainText(/Cache verified: all \d+ stored files match/);
});
