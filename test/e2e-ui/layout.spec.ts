// The layout under real use (issue #14): at 720, 900 and 1280 px, light and dark, with a
// 30-name job, 60-character package names, multi-line errors and an upstream that went down
// mid-job, no view scrolls sideways, no two rows overlap and Cancel / Retry stay in reach.
// One server for the whole walk: the stressed state takes a while to build.
import type { JobView } from '../../src-shared/contract.js';
import { chromiumMissing, expect, hasChromium, test, type Hub } from './fixtures.js';
import { expectLayoutHolds } from './layout-checks.js';
import { jobThatLosesItsUpstream, LONG_NAMES, publishLongNames, slowJob } from './stress.js';
import type { Page } from '@playwright/test';

test.skip(!hasChromium, chromiumMissing);

const SIZES = [
  { width: 720, height: 800 },
  { width: 900, height: 700 },
  { width: 1280, height: 800 },
];
const SCHEMES = ['light', 'dark'] as const;
const NAMES = LONG_NAMES;

/** A finished job with long, multi-line warnings and their internal detail, added to the server's list. */
function warningsJob(): JobView {
  const now = Date.now();
  return {
    id: 'synthetic-warnings',
    source: NAMES.join(', '),
    state: 'done',
    createdAt: now - 90_000,
    finishedAt: now - 60_000,
    concurrency: 4,
    items: NAMES.map((name) => ({ name, version: '1.0.0', state: 'fetched', bytes: 3072, totalBytes: 3072 })),
    skipped: [{ name: 'private_dep', reason: 'git dependency (https://example.com/a/really/long/path/to/a/repository/that/goes/on/and/on.git)' }],
    problems: [
      {
        name: NAMES[0]!,
        warning: true,
        reason:
          'the lock file’s checksum differs from the registry’s:\nlock     4f0a9c2a3f1c8e0c4d6b7a8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2\nregistry 0000c2a3f1c8e0c4d6b7a8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2',
        detail: `registry/packages/${NAMES[0]} outer checksum 4f0a9c2a3f1c8e0c4d6b7a8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2 (required by (requested))`,
      },
      { name: NAMES[1]!, warning: true, reason: 'retired (security): use 2.0.7 or later\nsee https://example.com/advisories/2026-0001' },
    ],
    totals: { items: 32, fetched: 32, cached: 0, failed: 0, bytes: 32 * 3072 },
    request: { packages: NAMES },
  };
}

async function buildStress(hub: Hub, page: Page): Promise<{ runningJob: string }> {
  await publishLongNames(hub);
  await hub.api.updateSettings({ prewarmConcurrency: 4 });
  // Client traffic: the cache list and the activity get long names too.
  for (const name of NAMES.slice(0, 5)) expect((await hub.fetch(`/tarballs/${name}-1.0.0.tar`)).status).toBe(200);
  await page.route(/\/-\/api\/jobs$/, async (route) => {
    if (route.request().method() !== 'GET') return route.continue();
    const response = await route.fetch();
    const jobs = (await response.json()) as JobView[];
    await route.fulfill({ response, json: [...jobs, warningsJob()] });
  });
  await hub.open(page, '#/downloads');
  await jobThatLosesItsUpstream(hub);
  await expect(page.getByTestId('upstream-banner')).toBeVisible();
  await expect(page.getByRole('list', { name: 'Finished transfers' }).locator('.finished-error').first()).toBeVisible();
  // The upstream back, slow: a second 30-name job stays running while the views are measured.
  return { runningJob: await slowJob(hub) };
}

test('every view holds at 720, 900 and 1280 px, light and dark, with long names, long jobs and failures', async ({ hub, page }) => {
  test.setTimeout(240_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  const { runningJob } = await buildStress(hub, page);
  const jobs = page.getByTestId('job');
  await expect(jobs.filter({ hasText: 'Running' }).first()).toBeVisible();

  for (const size of SIZES) {
    await page.setViewportSize(size);
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      const at = `${size.width} px ${scheme}`;

      await page.goto(`${hub.url}/#/overview`);
      await expect(page.getByTestId('hit-ratio')).toBeVisible();
      await expectLayoutHolds(page, `overview ${at}`);

      await page.goto(`${hub.url}/#/downloads`);
      const running = jobs.filter({ has: page.getByRole('button', { name: 'Cancel' }) }).first();
      const failed = jobs.filter({ has: page.getByRole('button', { name: 'Retry failed' }) }).first();
      await expect(running).toBeVisible();
      await expect(failed).toBeVisible();
      // The 30 names are summarised on one line, and can be shown whole.
      await expect(running).toContainText(/and \d+ more/);
      await expectLayoutHolds(page, `downloads ${at}`);
      for (const button of [running.getByRole('button', { name: 'Cancel' }), failed.getByRole('button', { name: 'Retry failed' })]) {
        await button.scrollIntoViewIfNeeded();
        await expect(button).toBeInViewport();
        await button.click({ trial: true });
      }
      const warned = jobs.filter({ hasText: 'Done, 2 warnings' });
      await warned.getByRole('button', { name: /show all 32/ }).click();
      await warned.getByText('Details').first().click();
      await warned.getByText(/releases, 1 skipped/).click();
      await expectLayoutHolds(page, `downloads, a job opened ${at}`);

      await page.goto(`${hub.url}/#/cache`);
      await expect(page.getByRole('row', { name: new RegExp(NAMES[0]!) })).toBeVisible();
      await expectLayoutHolds(page, `cache ${at}`);
      // Date columns show "10 s ago" whole, not "10 s a…".
      const cutDates = await page
        .locator('.table-body .col-date')
        .evaluateAll((cells) => cells.filter((c) => c.getBoundingClientRect().width > 0 && c.scrollWidth > c.clientWidth).map((c) => c.textContent));
      expect(cutDates, `cut dates ${at}`).toEqual([]);
      await page.goto(`${hub.url}/#/cache/${NAMES[0]}`);
      await expect(page.getByRole('list', { name: `Versions of ${NAMES[0]}` })).toBeVisible();
      await page.getByRole('button', { name: '1.0.0', exact: true }).click();
      await expectLayoutHolds(page, `cache with the package panel ${at}`);
      // The list stays usable beside or above the panel, and Verify cache is never covered.
      const verify = page.getByRole('button', { name: 'Verify cache' });
      await expect(verify).toBeInViewport();
      await verify.click({ trial: true });
      const list = await page.getByTestId('package-rows').boundingBox();
      expect(list!.height, `cache list height ${at}`).toBeGreaterThan(80);
      expect(list!.width, `cache list width ${at}`).toBeGreaterThan(300);

      await page.goto(`${hub.url}/#/disk`);
      await expect(page.getByTestId('disk-total')).toBeVisible();
      await expectLayoutHolds(page, `disk ${at}`);

      await page.goto(`${hub.url}/#/settings`);
      await expect(page.getByLabel('Registry TTL')).toHaveValue('300');
      await expectLayoutHolds(page, `settings ${at}`);
    }
  }

  // Below ~1000 px the sidebar shows icons; the links keep their names (and tooltips).
  await page.setViewportSize(SIZES[1]!);
  const cacheLink = page.getByRole('link', { name: /^Cache/ });
  await expect(cacheLink).toHaveAttribute('title', 'Cache');
  expect((await page.locator('.sidebar').boundingBox())!.width).toBeLessThan(80);
  await page.setViewportSize(SIZES[2]!);
  expect((await page.locator('.sidebar').boundingBox())!.width).toBeGreaterThan(150);

  // Cancelling says what happened.
  await page.goto(`${hub.url}/#/downloads`);
  await jobs
    .filter({ has: page.getByRole('button', { name: 'Cancel' }) })
    .first()
    .getByRole('button', { name: 'Cancel' })
    .click();
  await expect.poll(async () => (await hub.api.job(runningJob)).state).toBe('cancelled');
  await expect(jobs.filter({ hasText: /Cancelled after \d+ of 30/ })).toBeVisible();
  expect(problems).toEqual([]);
});
