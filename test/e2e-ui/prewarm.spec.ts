// A pre-warm from a pasted mix.lock runs to completion, with its progress visible on the way.
import { chromiumMissing, expect, hasChromium, mixLock, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);

test('a pre-warm from a pasted lock runs to completion with visible progress', async ({ hub, page }) => {
  // One download at a time, throttled, so that the progress can be watched.
  await hub.api.updateSettings({ prewarmConcurrency: 1 });
  hub.upstream.fault.bytesPerSecond(100_000, { path: '/tarballs/' });
  const lock = mixLock(hub.repo, [
    ['phoenix', '1.7.10'],
    ['plug', '1.15.3'],
    ['mime', '2.0.5'],
    ['telemetry', '1.2.1'],
  ]).replace('%{\n', '%{\n  "private_dep": {:git, "https://example.com/private_dep.git", "0123abc", []},\n');

  await hub.open(page, '#/downloads');
  await expect(page.getByText('No pre-warm jobs yet')).toBeVisible();
  // Invalid text first: the API's field error shows under the text box.
  await page.getByLabel(/Lock file text/).fill('%{ "plug": {:hex');
  await page.getByRole('button', { name: 'Start pre-warm' }).click();
  await expect(page.locator('.tabpanel .field-error')).toContainText(/mix\.lock/);

  await page.getByLabel(/Lock file text/).fill(lock);
  await page.getByRole('button', { name: 'Start pre-warm' }).click();

  const job = page.getByTestId('job').first();
  await expect(job).toContainText('mix.lock (5 entries)');
  const progress = job.getByRole('progressbar');
  await expect(progress).toHaveAttribute('aria-valuemax', '4');
  // On the way: transfers in flight, then some releases done while the job still runs.
  await expect(page.getByTestId('transfers').getByRole('progressbar').first()).toBeVisible();
  await expect(page.getByRole('link', { name: /Downloads/ })).toContainText(/\d/);
  await expect(progress).toHaveAttribute('aria-valuenow', /^[123]$/);
  await expect(job).toHaveAttribute('data-state', 'running');

  await expect(job).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  await expect(progress).toHaveAttribute('aria-valuenow', '4');
  await expect(job).toContainText('4 fetched');
  await expect(job).toContainText('0 failed');
  await expect(job).toContainText('1 skipped');
  await expect(page.getByText('Nothing is downloading right now.')).toBeVisible();

  // The details list every release and the skipped git dependency.
  await job.getByText('4 releases, 1 skipped').click();
  await expect(job.getByRole('row', { name: /phoenix 1\.7\.10/ })).toContainText('fetched');
  await expect(job.getByRole('row', { name: /private_dep/ })).toContainText('git dependency');

  const [view] = await hub.api.jobs();
  expect(view).toMatchObject({ state: 'done', totals: { items: 4, fetched: 4, failed: 0 } });
});

test('a lock file dropped or chosen fills the form; a pre-warm by package names, and cancelling one', async ({ hub, page }) => {
  await hub.api.updateSettings({ prewarmConcurrency: 1 });
  hub.upstream.fault.bytesPerSecond(40_000, { path: '/tarballs/' });
  await hub.open(page, '#/downloads');

  const lock = mixLock(hub.repo, [['jason', '1.4.1']]);
  await page.getByTestId('dropzone').evaluate((zone, text) => {
    const data = new DataTransfer();
    data.items.add(new File([text], 'mix.lock', { type: 'text/plain' }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, lock);
  await expect(page.getByLabel(/Lock file text/)).toHaveValue(lock);
  await expect(page.getByText('(mix.lock)')).toBeVisible();
  const rebarLock = '{"1.2.0",\n[{<<"jason">>,{pkg,<<"jason">>,<<"1.4.1">>},0}]}.\n';
  await page.getByLabel('Lock file to read').setInputFiles({ name: 'rebar.lock', mimeType: 'text/plain', buffer: Buffer.from(rebarLock) });
  await expect(page.getByLabel(/Lock file text/)).toHaveValue(rebarLock);
  await expect(page.getByText('(rebar.lock)')).toBeVisible();

  await page.getByLabel('Package names').check();
  await page.getByLabel('Packages', { exact: true }).fill('phoenix, cowboy\necto@3.11.1');
  await page.getByRole('button', { name: 'Start pre-warm' }).click();
  const job = page.getByTestId('job').first();
  await expect(job).toHaveAttribute('data-state', 'running');
  await job.getByRole('button', { name: 'Cancel' }).click();
  await expect(job).toHaveAttribute('data-state', 'cancelled');
  await expect(job.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
});
