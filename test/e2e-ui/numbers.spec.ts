// The Overview's numbers against counted traffic (issue #14): client hits and misses apart from
// pre-warm fetches, "Saved" as the bytes served from the cache, upstream errors per failed
// request with the attempts apart; all of it, the activity log and the job history kept across a
// restart on the same data dir, until Reset.
import { formatBytes } from '../../src-shared/format.js';
import { chromiumMissing, expect, hasChromium, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);

test('the Overview shows counted traffic, keeps it across a restart, and resets it on request', async ({ hub, page }) => {
  test.setTimeout(90_000);
  await hub.open(page, '#/overview');
  await expect(page.getByTestId('hit-ratio')).toHaveText('—');

  // M = 3 pre-warm fetches: not client requests, so they leave the ratio alone.
  const job = await hub.api.startPrewarm({ packages: ['telemetry', 'mime@2.0.5', 'ranch'] });
  await expect.poll(async () => (await hub.api.job(job.id)).state).toBe('done');
  await expect(page.getByTestId('counter-prewarm')).toHaveText('3');
  await expect(page.getByTestId('hit-ratio')).toHaveText('—');
  await expect(page.getByTestId('activity')).toContainText('Downloaded telemetry 1.2.1 · pre-warm');

  // N = 5 client requests: 2 misses, then 3 hits (two of them on what the pre-warm fetched).
  const bodies: Record<string, number> = {};
  const get = async (path: string, cache: 'HIT' | 'MISS') => {
    const reply = await hub.fetch(path);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-hexhub-cache']).toBe(cache);
    bodies[path] = reply.body.length;
    return reply.body.length;
  };
  const missed = (await get('/tarballs/plug-1.14.0.tar', 'MISS')) + (await get('/tarballs/cowlib-2.12.1.tar', 'MISS'));
  const hit =
    (await get('/tarballs/telemetry-1.2.1.tar', 'HIT')) + (await get('/tarballs/mime-2.0.5.tar', 'HIT')) + (await get('/tarballs/plug-1.14.0.tar', 'HIT'));
  await expect(page.getByTestId('counter-hits')).toHaveText('3');
  await expect(page.getByTestId('counter-misses')).toHaveText('2');
  await expect(page.getByTestId('hit-ratio')).toHaveText('60%');
  await expect(page.getByTestId('counter-prewarm')).toHaveText('3');
  await expect(page.getByTestId('counter-saved')).toHaveText(formatBytes(hit));
  await expect(page.getByTestId('counter-served')).toHaveText(formatBytes(hit + missed));

  // One failed request is one upstream error, however many attempts it took. (A release of a
  // package whose record is stored: a cold registry would ask for the record alongside, two requests.)
  await hub.upstream.stop();
  expect((await hub.fetch('/tarballs/plug-1.15.3.tar')).status).toBeGreaterThanOrEqual(500);
  await expect(page.getByTestId('counter-errors')).toHaveText('1');
  const counted = (await hub.api.status()).counters;
  expect(counted.upstreamFailedAttempts).toBeGreaterThan(1);
  await expect(page.getByTestId('counter-attempts')).toHaveText(String(counted.upstreamFailedAttempts));
  await expect(page.getByTestId('activity')).toContainText('Upstream unreachable');
  await hub.upstream.start();

  // A restart on the same data dir: the page says the mirror is gone, then everything is back.
  const since = counted.since;
  await hub.restart({}, { samePort: true, whileDown: () => expect(page.getByTestId('mirror-banner')).toBeVisible({ timeout: 15_000 }) });
  await expect(page.getByTestId('mirror-state')).toContainText('Not answering');
  await expect(page.getByTestId('mirror-banner')).toHaveCount(0, { timeout: 15_000 });
  await page.reload();
  await expect(page.getByTestId('counter-hits')).toHaveText('3');
  // The 2 misses, and the failed request above: a miss the upstream could not answer.
  await expect(page.getByTestId('counter-misses')).toHaveText('3');
  await expect(page.getByTestId('counter-prewarm')).toHaveText('3');
  await expect(page.getByTestId('counter-saved')).toHaveText(formatBytes(hit));
  await expect(page.getByTestId('counter-errors')).toHaveText('1');
  await expect(page.getByTestId('counters-since')).toHaveText(
    `since ${new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' }).format(since)}`,
  );
  // What was fetched before this window opened, and before the restart.
  const activity = page.getByTestId('activity');
  await expect(activity).toContainText('Downloaded plug 1.14.0');
  await expect(activity).toContainText('Downloaded telemetry 1.2.1 · pre-warm');
  // The job history too, marked as read back after the restart.
  await page.goto(`${hub.url}/#/downloads`);
  const restored = page.getByTestId('job').first();
  await expect(restored).toContainText('Done');
  await expect(restored).toContainText('before restart');

  // Reset asks first; Cancel keeps the counters.
  await page.goto(`${hub.url}/#/overview`);
  await page.getByRole('button', { name: 'Reset…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Reset the counters?' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('counter-hits')).toHaveText('3');
  await page.getByRole('button', { name: 'Reset…' }).click();
  await dialog.getByRole('button', { name: 'Reset counters' }).click();
  await expect(page.getByTestId('counter-hits')).toHaveText('0');
  await expect(page.getByTestId('counter-prewarm')).toHaveText('0');
  await expect(page.getByTestId('hit-ratio')).toHaveText('—');
  expect((await hub.api.status()).counters.since).toBeGreaterThan(since);
});

test('the Disk view counts "used" as df does', async ({ hub, page }) => {
  await hub.fetch('/tarballs/phoenix-1.7.10.tar');
  await hub.open(page, '#/disk');
  const disk = await hub.api.disk();
  await expect(page.getByTestId('disk-volume-used')).toHaveText(`${formatBytes(disk.volumeUsedBytes)} used of ${formatBytes(disk.volumeBytes)}`, {
    timeout: 5_000,
  });
  await expect(page.getByTestId('disk-other')).toHaveText(formatBytes(Math.max(0, disk.volumeUsedBytes - disk.totalBytes)));
});
