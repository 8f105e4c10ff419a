// 20,000 cached packages: the list asks the server for the pages in view only and renders
// only the rows in view. The listing is answered by a route handler here (the server's own
// paging is covered by the integration tests); everything else is the real server.
import { chromiumMissing, expect, hasChromium, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);

const TOTAL = 20_000;
const name = (i: number) => `pkg_${String(i).padStart(5, '0')}`;

test('the cache list stays light with 20,000 packages', async ({ hub, page }) => {
  const pagesAsked: number[] = [];
  await page.route(/\/-\/api\/cache\?/, async (route) => {
    const url = new URL(route.request().url());
    const q = url.searchParams.get('q') ?? '';
    const pageNo = Number(url.searchParams.get('page') ?? '1');
    const pageSize = Number(url.searchParams.get('pageSize') ?? '50');
    const desc = url.searchParams.get('order') === 'desc';
    pagesAsked.push(pageNo);
    let names = Array.from({ length: TOTAL }, (_, i) => name(i + 1)).filter((n) => n.includes(q));
    if (desc) names = names.reverse();
    const items = names.slice((pageNo - 1) * pageSize, pageNo * pageSize).map((n, i) => ({
      name: n,
      versions: ['1.0.0'],
      docs: 0,
      size: 10_000 + i,
      fetchedAt: Date.now() - 60_000,
      lastUsedAt: Date.now() - 1_000,
      hits: i,
    }));
    await route.fulfill({ json: { total: names.length, page: pageNo, pageSize, items } });
  });

  await hub.open(page, '#/cache');
  await expect(page.getByTestId('list-count')).toHaveText('20,000 packages');
  const rows = page.getByTestId('package-rows').getByRole('row');
  await expect(page.getByRole('link', { name: 'pkg_00001' })).toBeVisible();
  expect(await rows.count()).toBeLessThan(60);

  // Jump to the end: only the last page is fetched, still only a screenful of rows.
  const started = Date.now();
  await page.getByTestId('package-rows').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
  await expect(page.getByRole('link', { name: name(TOTAL) })).toBeVisible();
  expect(Date.now() - started).toBeLessThan(3000);
  expect(await rows.count()).toBeLessThan(60);
  expect(new Set(pagesAsked).size).toBeLessThanOrEqual(4);

  // The middle, then a search that narrows the list.
  await page.getByTestId('package-rows').evaluate((el) => el.scrollTo({ top: el.scrollHeight / 2 }));
  await expect(page.getByRole('link', { name: name(10_001) })).toBeVisible();
  await page.getByLabel('Search packages').fill('pkg_1999');
  await expect(page.getByTestId('list-count')).toHaveText('10 packages matching “pkg_1999”');
  await expect(page.getByRole('link', { name: 'pkg_19999' })).toBeVisible();
});

test('a failed request shows its reason and a retry that recovers', async ({ hub, page }) => {
  let fail = true;
  await page.route('**/-/api/disk', async (route) => {
    if (fail) await route.fulfill({ status: 500, json: { error: 'internal', message: 'disk read failed (test)' } });
    else await route.continue();
  });
  await hub.open(page, '#/disk');
  const error = page.getByRole('alert').filter({ hasText: 'disk read failed (test)' });
  await expect(error).toBeVisible();
  fail = false;
  await error.getByRole('button', { name: 'Retry' }).click();
  await expect(error).toHaveCount(0);
  await expect(page.getByTestId('disk-total')).toBeVisible();
});
