// Pre-warm jobs as the dashboard's history shows them, on the real engine against a loopback
// fake upstream: kept in the data dir across a stop and start (a job cut short is never shown
// running), retried for exactly what failed, run again, cleared; outcomes that tell the truth
// (warnings leave a job done) and errors in user words with the engine's detail kept apart.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, type ApiClient } from '../../src-shared/api-client.js';
import type { JobView } from '../../src-shared/contract.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror;
let api: ApiClient;

function connect(to: TestMirror): void {
  mirror = to;
  api = createApiClient({ baseUrl: to.url, token: to.engine.token });
}

async function waitForJob(id: string): Promise<JobView> {
  for (let i = 0; i < 300; i++) {
    const job = await api.job(id);
    if (job.state !== 'resolving' && job.state !== 'running') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('job did not finish');
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

const itemsOf = (job: JobView) => Object.fromEntries(job.items.map((i) => [`${i.name}@${i.version}`, i.state]));

beforeEach(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'plug', version: '1.14.0' });
  await repo.publish({ name: 'mime', version: '2.0.5' });
  await repo.publish({ name: 'mime', version: '2.0.6' }, { retired: { reason: 'security', message: 'CVE' } });
  await repo.publish({
    name: 'phoenix',
    version: '1.7.0',
    deps: [
      { name: 'plug', requirement: '~> 1.14' },
      { name: 'mime', requirement: '~> 2.0' },
    ],
  });
  upstream = await startFakeUpstream(repo);
  connect(await startMirror(upstream.url, { UPSTREAM_RETRY_ATTEMPTS: '1' }));
});

afterEach(async () => {
  await mirror.stop();
  await upstream.close();
  await removeDir(mirror.dataDir);
});

describe('job history across a restart', () => {
  it('keeps finished jobs with their request, restored; a job the stop cut short reads cancelled, not running', async () => {
    const done = await waitForJob((await api.startPrewarm({ packages: ['phoenix'], concurrency: 2 })).id);
    expect(done.state).toBe('done');
    const lock = `%{\n  "plug": {:hex, :plug, "1.14.0", "${repo.release('plug', '1.14.0')!.innerChecksum}", [:mix], [], "hexpm"},\n}\n`;
    const fromLock = await waitForJob((await api.startPrewarm({ lockfile: { name: 'mix.lock', content: lock } })).id);
    upstream.fault.hangMs(60_000, { path: '/tarballs/mime-2.0.5' });
    await api.deleteRelease('mime', '2.0.5');
    const going = await api.startPrewarm({ packages: ['mime@2.0.5'] });
    for (let i = 0; i < 100 && (await api.job(going.id)).items[0]?.state !== 'fetching'; i++) await new Promise((r) => setTimeout(r, 20));

    connect(await mirror.restart({ UPSTREAM_RETRY_ATTEMPTS: '1' }));
    const jobs = await api.jobs();
    expect(jobs.map((j) => j.id)).toEqual([going.id, fromLock.id, done.id]);
    expect(jobs.every((j) => j.restored === true)).toBe(true);
    const byId = Object.fromEntries(jobs.map((j) => [j.id, j]));
    expect(byId[done.id]).toMatchObject({ state: 'done', source: done.source, totals: done.totals, request: { packages: ['phoenix'], concurrency: 2 } });
    expect(itemsOf(byId[done.id]!)).toEqual(itemsOf(done));
    expect(byId[fromLock.id]!.request).toEqual({ lockfile: { name: 'mix.lock', content: lock } });
    expect(byId[going.id]).toMatchObject({ state: 'cancelled', error: 'the mirror stopped before this job finished' });
    expect(byId[going.id]!.items.map((i) => i.state)).toEqual(['cancelled']);
    expect(mirror.engine.jobs.active).toBe(0);
    // It holds a lock file's text, which can name private repositories.
    expect((await stat(join(mirror.dataDir, 'jobs.json'))).mode & 0o777).toBe(0o600);
  });

  it('restores a job a crash left running as cancelled, and starts with no history from a damaged file', async () => {
    const job = await waitForJob((await api.startPrewarm({ packages: ['plug'] })).id);
    await mirror.stop();
    // What a process killed mid-job leaves: the job as last written, still running.
    const file = join(mirror.dataDir, 'jobs.json');
    const kept = JSON.parse(await readFile(file, 'utf8')) as { jobs: JobView[] };
    kept.jobs[0] = { ...kept.jobs[0]!, state: 'running', finishedAt: undefined, items: kept.jobs[0]!.items.map((i) => ({ ...i, state: 'fetching' })) };
    await writeFile(file, JSON.stringify(kept));
    connect(await mirror.restart({ UPSTREAM_RETRY_ATTEMPTS: '1' }));
    const restored = await api.job(job.id);
    expect(restored).toMatchObject({ state: 'cancelled', restored: true, error: 'the mirror stopped before this job finished' });
    expect(restored.items.map((i) => i.state)).toEqual(['cancelled']);
    // Run again works from a restored job: its request was kept.
    const again = await waitForJob((await api.rerunJob(job.id)).id);
    expect(again).toMatchObject({ state: 'done', request: { packages: ['plug'] } });

    await mirror.stop();
    await writeFile(file, '{"schema":1,"jobs":[{"id":');
    connect(await mirror.restart({ UPSTREAM_RETRY_ATTEMPTS: '1' }));
    expect(await api.jobs()).toEqual([]);
    expect(mirror.logs.some((l) => l.event === 'job_history_unreadable')).toBe(true);
  });
});

describe('retry, run again and clear', () => {
  it('retries exactly the failed releases of a finished job, and refuses while it runs or when nothing failed', async () => {
    const corrupt = upstream.fault.corruptTarball({ path: '/tarballs/plug-1.14.0' });
    const failed = await waitForJob((await api.startPrewarm({ packages: ['phoenix'] })).id);
    expect(failed.state).toBe('failed');
    expect(itemsOf(failed)).toEqual({ 'phoenix@1.7.0': 'fetched', 'plug@1.14.0': 'failed', 'mime@2.0.5': 'fetched' });
    const plug = failed.items.find((i) => i.name === 'plug')!;
    expect(plug.error).toBe('the download failed verification');
    expect(plug.detail).toMatch(/tarballs\/plug-1\.14\.0\.tar.*SHA-256/);

    corrupt.clear();
    const retry = await api.retryJob(failed.id);
    expect(retry.id).not.toBe(failed.id);
    const retried = await waitForJob(retry.id);
    expect(itemsOf(retried)).toEqual({ 'plug@1.14.0': 'fetched' });
    expect(retried.state).toBe('done');
    expect(retried.request).toEqual({ packages: ['plug@1.14.0'], concurrency: failed.concurrency });

    const nothingFailed = await refusal(api.retryJob(retried.id));
    expect(nothingFailed.status).toBe(409);
    expect(nothingFailed.message).toMatch(/no failed releases/);
    expect((await refusal(api.retryJob('no-such-job'))).status).toBe(404);

    upstream.fault.hangMs(60_000, { path: '/tarballs/mime-2.0.6' });
    const running = await api.startPrewarm({ packages: ['mime@2.0.6'] });
    const busy = await refusal(api.retryJob(running.id));
    expect(busy.status).toBe(409);
    expect(busy.message).toMatch(/still running/);
    expect((await refusal(api.rerunJob(running.id))).status).toBe(409);
    await api.cancelJob(running.id);
  });

  it('runs a job again with the same request', async () => {
    const first = await waitForJob((await api.startPrewarm({ packages: ['phoenix'], concurrency: 3 })).id);
    const again = await waitForJob((await api.rerunJob(first.id)).id);
    expect(again.id).not.toBe(first.id);
    expect(again.request).toEqual(first.request);
    expect(again.concurrency).toBe(3);
    expect(itemsOf(again)).toEqual({ 'phoenix@1.7.0': 'cached', 'plug@1.14.0': 'cached', 'mime@2.0.5': 'cached' });
    expect((await api.jobs()).map((j) => j.id)).toEqual([again.id, first.id]);
  });

  it('clears finished jobs only, here and in the kept history', async () => {
    const done = await waitForJob((await api.startPrewarm({ packages: ['plug'] })).id);
    const failed = await waitForJob((await api.startPrewarm({ packages: ['nosuchpkg'] })).id);
    expect(failed.state).toBe('failed');
    const slow = upstream.fault.latencyMs(300, { path: '/tarballs/' });
    const cancelled = await api.startPrewarm({ packages: ['phoenix'], concurrency: 1 });
    for (let i = 0; i < 100 && (await api.job(cancelled.id)).state !== 'running'; i++) await new Promise((r) => setTimeout(r, 20));
    await api.cancelJob(cancelled.id);
    expect((await waitForJob(cancelled.id)).state).toBe('cancelled');
    slow.clear();
    upstream.fault.hangMs(60_000, { path: '/tarballs/mime-2.0.6' });
    const running = await api.startPrewarm({ packages: ['mime@2.0.6'] });

    const left = await api.clearFinishedJobs();
    expect(left.map((j) => j.id)).toEqual([running.id]);
    expect((await api.jobs()).map((j) => j.id)).toEqual([running.id]);
    expect((await refusal(api.job(done.id))).status).toBe(404);

    connect(await mirror.restart({ UPSTREAM_RETRY_ATTEMPTS: '1' }));
    expect((await api.jobs()).map((j) => j.id)).toEqual([running.id]);
    expect((await api.clearFinishedJobs()).map((j) => j.id)).toEqual([]);
  });
});

describe('job outcomes and their words', () => {
  it('ends done when everything was fetched, keeping warnings (a lock checksum, a retired release) visible', async () => {
    const mime = repo.release('mime', '2.0.5')!;
    const lock = [
      '%{',
      `  "mime": {:hex, :mime, "2.0.5", "${mime.innerChecksum}", [:mix], [], "hexpm", "${'0'.repeat(64)}"},`,
      '  "private": {:git, "https://example.com/private.git", "abc123", []},',
      '}',
    ].join('\n');
    const fromLock = await waitForJob((await api.startPrewarm({ lockfile: { name: 'mix.lock', content: lock } })).id);
    expect(fromLock.state).toBe('done');
    expect(fromLock.skipped.map((s) => s.name)).toEqual(['private']);
    expect(fromLock.problems).toEqual([
      {
        name: 'mime',
        reason: expect.stringMatching(/checksum for 2\.0\.5 differs from the registry's; the release was fetched/),
        detail: expect.stringMatching(/lock outer checksum 0{64} differs/),
        warning: true,
      },
    ]);

    const retired = await waitForJob((await api.startPrewarm({ packages: ['mime@2.0.6'] })).id);
    expect(retired.state).toBe('done');
    expect(itemsOf(retired)).toEqual({ 'mime@2.0.6': 'fetched' });
    expect(retired.problems).toEqual([{ name: 'mime', reason: expect.stringMatching(/retired/), warning: true }]);
  });

  it('fails when something asked for cannot be fetched, saying why in user words with the detail apart', async () => {
    const unknown = await waitForJob((await api.startPrewarm({ packages: ['plug', 'nosuchpkg'] })).id);
    expect(unknown.state).toBe('failed');
    expect(itemsOf(unknown)).toEqual({ 'plug@1.14.0': 'fetched' });
    expect(unknown.problems).toEqual([
      {
        name: 'nosuchpkg',
        reason: 'no package named nosuchpkg',
        detail: expect.stringMatching(/nosuchpkg does not exist upstream \(required by \(requested\)\)/),
      },
    ]);

    await mirror.stop();
    connect(await startMirror(upstream.url, { UPSTREAM_RETRY_ATTEMPTS: '1', UPSTREAM_TIMEOUT: '300' }, mirror.dataDir));
    upstream.fault.hangMs(5_000, { path: '/tarballs/mime-2.0.5' });
    const slow = await waitForJob((await api.startPrewarm({ packages: ['mime@2.0.5'] })).id);
    expect(slow.state).toBe('failed');
    expect(slow.items[0]).toMatchObject({
      state: 'failed',
      error: 'the upstream did not answer in time',
      detail: expect.stringMatching(/tarballs\/mime-2\.0\.5\.tar/),
    });
  });
});
