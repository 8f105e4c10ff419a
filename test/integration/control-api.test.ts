// The control API through real HTTP: every call, its validation errors, and the refusals
// that keep other web pages and rebinding hosts out.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, type ApiClient } from '../../src-shared/api-client.js';
import { CONTROL_CALLS, CONTROL_ROUTES, type Control } from '../../src-shared/control.js';
import { API_PREFIX, TOKEN_HEADER, type JobView, type ServerEvent } from '../../src-shared/contract.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror;
let api: ApiClient;

function port(): string {
  return new URL(mirror.url).port;
}

async function raw(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return httpGet(mirror.url, `${API_PREFIX}${path}`, { method, headers: { [TOKEN_HEADER]: mirror.engine.token, ...headers } });
}

async function expectApiError(promise: Promise<unknown>, status: number): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).status).toBe(status);
  return error as ApiError;
}

async function waitForJob(id: string): Promise<JobView> {
  for (let i = 0; i < 200; i++) {
    const job = await api.job(id);
    if (job.state !== 'resolving' && job.state !== 'running') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('job did not finish');
}

beforeEach(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'plug', version: '1.13.0' });
  await repo.publish({ name: 'plug', version: '1.14.0' });
  await repo.publish({ name: 'plug', version: '1.15.0-rc.0' });
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
  mirror = await startMirror(upstream.url);
  api = createApiClient({ baseUrl: mirror.url, token: mirror.engine.token });
});

afterEach(async () => {
  await mirror.stop();
  await upstream.close();
  await removeDir(mirror.dataDir);
});

describe('access control', () => {
  it('refuses every control call without a credential, the new ones included (only POST /proof needs none)', async () => {
    const refused: Record<string, number> = {};
    for (const call of CONTROL_CALLS) {
      const [method, path] = CONTROL_ROUTES[call].route.split(' ') as [string, string];
      if (path === '/proof') continue;
      const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
      const reply = await fetch(`${mirror.url}${API_PREFIX}${path.replace(/:\w+/g, 'x')}`, { method, body, headers: { 'content-type': 'application/json' } });
      refused[`${method} ${path}`] = reply.status;
    }
    expect(
      Object.values(refused).every((status) => status === 401),
      JSON.stringify(refused),
    ).toBe(true);
    expect(Object.keys(refused)).toEqual(
      expect.arrayContaining(['GET /activity', 'GET /disk/cap-preview', 'POST /counters/reset', 'POST /jobs/:id/retry', 'DELETE /jobs']),
    );
    expect((await api.status()).counters.since).toBeGreaterThan(0);
    expect(await api.jobs()).toEqual([]);
  });

  it('keeps the token in the data dir, readable by the owner only', async () => {
    const file = join(mirror.dataDir, 'token');
    expect((await readFile(file, 'utf8')).trim()).toBe(mirror.engine.token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(mirror.engine.token.length).toBeGreaterThanOrEqual(40);
  });

  it('refuses calls without the token or with a wrong one', async () => {
    const none = await httpGet(mirror.url, `${API_PREFIX}/status`);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body.toString())).toMatchObject({ error: 'unauthorized' });
    expect((await raw('/status', { [TOKEN_HEADER]: 'x'.repeat(43) })).status).toBe(401);
    expect((await raw('/cache', { [TOKEN_HEADER]: '' }, 'DELETE')).status).toBe(401);
    await expectApiError(createApiClient({ baseUrl: mirror.url, token: 'nope' }).status(), 401);
  });

  it('refuses a foreign Origin and a rebinding Host, even with the token', async () => {
    expect((await raw('/status', { origin: 'https://evil.example' })).status).toBe(403);
    expect((await raw('/status', { origin: 'null' })).status).toBe(403);
    expect((await raw('/status', { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await raw('/status', { host: `evil.example:${port()}` })).status).toBe(403);
    expect((await raw('/status', { host: `127.0.0.1:${port()}`, origin: `http://127.0.0.1:${port()}` })).status).toBe(200);
    expect((await raw('/status', { host: `localhost:${port()}` })).status).toBe(200);
  });

  it('sends no CORS headers, so browsers keep other origins from reading answers', async () => {
    const preflight = await raw('/status', { origin: 'https://evil.example', 'access-control-request-method': 'GET' }, 'OPTIONS');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const ok = await raw('/status');
    expect(ok.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('leaves the Hex protocol paths open to clients', async () => {
    expect((await httpGet(mirror.url, '/packages/plug', { headers: { host: `anything.example:${port()}` } })).status).toBe(200);
  });
});

/**
 * GETs a tarball and waits for its package's registry record too: with a cold registry the two
 * are fetched together, and the tarball may be answered just before the record is stored.
 */
async function getTarball(path: string): Promise<void> {
  await httpGet(mirror.url, path);
  const name = /^\/tarballs\/(.+)-[^-]+\.tar$/.exec(path)![1]!;
  await expect.poll(() => mirror.engine.index.get(`registry/packages/${name}`)).toBeDefined();
}

describe('status, cache contents and disk use', () => {
  it('reports status with counters and upstream health', async () => {
    await httpGet(mirror.url, '/tarballs/plug-1.14.0.tar');
    await httpGet(mirror.url, '/tarballs/plug-1.14.0.tar');
    const status = await api.status();
    expect(status).toMatchObject({ url: mirror.url, offline: false, upstream: { url: upstream.url, reachable: true } });
    expect(status.counters.hits).toBe(1);
    expect(status.counters.misses).toBe(1);
    expect(status.counters.bytesServed).toBe(2 * repo.release('plug', '1.14.0')!.bytes.length);
    expect(status.cache).toMatchObject({ packages: 1, releases: 1 });
  });

  it('lists cached packages with search, sort and paging', async () => {
    for (const path of ['/tarballs/plug-1.13.0.tar', '/tarballs/plug-1.14.0.tar', '/tarballs/mime-2.0.5.tar', '/tarballs/phoenix-1.7.0.tar']) {
      expect((await httpGet(mirror.url, path)).status).toBe(200);
    }
    const all = await api.listCache();
    expect(all.total).toBe(3);
    expect(all.items.map((i) => i.name)).toEqual(['mime', 'phoenix', 'plug']);
    expect(all.items[2]!.versions).toEqual(['1.14.0', '1.13.0']);
    expect((await api.listCache({ q: 'pl' })).items.map((i) => i.name)).toEqual(['plug']);
    const bySize = await api.listCache({ sort: 'size', order: 'desc' });
    expect(bySize.items[0]!.name).toBe('plug');
    const page2 = await api.listCache({ pageSize: 2, page: 2 });
    expect(page2.items.map((i) => i.name)).toEqual(['plug']);
    const error = await expectApiError(api.listCache({ sort: 'colour' as never, pageSize: 0 }), 400);
    expect(Object.keys(error.body.fields!)).toEqual(['sort', 'pageSize']);
  });

  it('shows one package: versions, retired flags, dependencies, checksums and what is cached', async () => {
    await getTarball('/tarballs/mime-2.0.5.tar');
    const detail = await api.package('mime');
    expect(detail.registry!.releases.map((r) => r.version)).toEqual(['2.0.6', '2.0.5']);
    expect(detail.registry!.releases[0]!.retired).toEqual({ reason: 'security', message: 'CVE' });
    expect(detail.registry!.releases[1]!).toMatchObject({
      cached: { tarball: true, docs: false },
      outerChecksum: repo.release('mime', '2.0.5')!.outerChecksum,
    });
    expect(detail.objects.map((o) => o.key)).toEqual(['registry/packages/mime', 'tarballs/mime-2.0.5.tar']);
    await httpGet(mirror.url, '/packages/phoenix');
    const phoenix = await api.package('phoenix');
    expect(phoenix.registry!.releases[0]!.dependencies.map((d) => `${d.package} ${d.requirement}`)).toEqual(['plug ~> 1.14', 'mime ~> 2.0']);
    await expectApiError(api.package('absent'), 404);
    await expectApiError(api.package('Not-A-Name'), 400);
  });

  it('deletes a release, a package, and everything, freeing the space', async () => {
    for (const path of ['/tarballs/plug-1.13.0.tar', '/tarballs/plug-1.14.0.tar', '/tarballs/mime-2.0.5.tar']) await httpGet(mirror.url, path);
    const before = await api.disk();
    const release = await api.deleteRelease('plug', '1.13.0');
    expect(release).toEqual({ removed: 1, freedBytes: repo.release('plug', '1.13.0')!.bytes.length });
    expect((await api.disk()).totalBytes).toBe(before.totalBytes - release.freedBytes);
    expect((await api.package('plug')).registry!.releases.find((r) => r.version === '1.13.0')!.cached.tarball).toBe(false);
    const pkg = await api.deletePackage('plug');
    expect(pkg.removed).toBe(2); // the 1.14.0 tarball and the registry record
    await expectApiError(api.package('plug'), 404);
    const all = await api.clearCache();
    expect(all.removed).toBeGreaterThan(0);
    expect((await api.disk()).totalBytes).toBe(0);
    expect((await api.listCache()).total).toBe(0);
  });

  it('reports disk use by kind and by package, and free space', async () => {
    await getTarball('/tarballs/plug-1.14.0.tar');
    await getTarball('/tarballs/mime-2.0.5.tar');
    const disk = await api.disk();
    expect(disk.byKind.tarball).toBe(repo.release('plug', '1.14.0')!.bytes.length + repo.release('mime', '2.0.5')!.bytes.length);
    expect(disk.byKind.registry).toBeGreaterThan(0);
    expect(disk.totalBytes).toBe(Object.values(disk.byKind).reduce((a, b) => a + b, 0));
    expect(disk.byPackage.map((p) => p.name).sort()).toEqual(['mime', 'plug']);
    expect(disk.freeBytes).toBeGreaterThan(0);
    expect(disk.volumeBytes).toBeGreaterThan(disk.freeBytes);
    expect(disk.sizeCapBytes).toBeNull();
  });

  it('verifies the cache: a damaged file is reported, quarantined and fetched again on the next request', async () => {
    await getTarball('/tarballs/plug-1.14.0.tar');
    const clean = await api.verify();
    expect(clean.problems).toEqual([]);
    expect(clean.checked).toBe(2);
    const file = join(mirror.dataDir, 'cache/tarballs/plug-1.14.0.tar');
    const bytes = await readFile(file);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(file, bytes);
    const report = await api.verify();
    expect(report.problems).toEqual([{ key: 'tarballs/plug-1.14.0.tar', reason: expect.stringMatching(/SHA-256/) }]);
    expect(report.quarantined).toHaveLength(1);
    expect((await readFile(join(mirror.dataDir, report.quarantined[0]!))).equals(bytes)).toBe(true);
    const again = await httpGet(mirror.url, '/tarballs/plug-1.14.0.tar');
    expect(again.body.equals(repo.release('plug', '1.14.0')!.bytes)).toBe(true);
    expect(upstream.countRequests('/tarballs/plug-1.14.0.tar')).toBe(2);
  });
});

describe('settings', () => {
  it('reads, validates per field, persists across a restart, and applies at once', async () => {
    // Not fixed by the environment this time, so the dashboard may set it.
    mirror = await mirror.restart({ UPSTREAM_URL: '', UPSTREAM_TIMEOUT: '' });
    api = createApiClient({ baseUrl: mirror.url, token: mirror.engine.token });
    const initial = await api.settings();
    expect(initial.values).toMatchObject({ upstreamUrl: 'https://repo.hex.pm', upstreamEnabled: true, registryTtlSeconds: 300, sizeCapBytes: null });
    expect(initial.fixedByEnv.upstreamUrl).toBeUndefined();
    const bad = await expectApiError(
      api.updateSettings({ timeoutMs: -1 as never, upstreamUrl: 'file:///etc/passwd', registryTtlSeconds: 'soon' as never }),
      422,
    );
    expect(Object.keys(bad.body.fields!).sort()).toEqual(['registryTtlSeconds', 'timeoutMs', 'upstreamUrl']);
    expect(bad.body.fields!.upstreamUrl).toMatch(/must be an http/);
    expect((await api.settings()).values.upstreamUrl).toBe('https://repo.hex.pm');
    // A new upstream is confirmed with the identity the server reports (see the security tests).
    const unconfirmed = await expectApiError(api.updateSettings({ upstreamUrl: upstream.url }), 409);
    await api.updateSettings({ upstreamUrl: upstream.url, confirmUpstreamChange: unconfirmed.body.upstreamChange!.to });
    expect((await httpGet(mirror.url, '/packages/plug')).status).toBe(200);
    expect((await expectApiError(api.updateSettings({ colour: 'red' } as never), 422)).body.fields).toEqual({ colour: 'not a setting' });

    const changed = await api.updateSettings({ upstreamEnabled: false, registryTtlSeconds: 60, retryAttempts: 5 });
    expect(changed.values).toMatchObject({ upstreamEnabled: false, registryTtlSeconds: 60, retryAttempts: 5 });
    expect((await api.status()).offline).toBe(true);
    expect((await httpGet(mirror.url, '/packages/mime')).status).toBe(503);
    expect((await httpGet(mirror.url, '/packages/plug')).status).toBe(200);

    mirror = await mirror.restart({ UPSTREAM_URL: '', UPSTREAM_TIMEOUT: '' });
    api = createApiClient({ baseUrl: mirror.url, token: mirror.engine.token });
    expect((await api.settings()).values).toMatchObject({ upstreamUrl: upstream.url, upstreamEnabled: false, registryTtlSeconds: 60, retryAttempts: 5 });
    expect(JSON.parse(await readFile(join(mirror.dataDir, 'settings.json'), 'utf8'))).toMatchObject({ upstreamUrl: upstream.url, upstreamEnabled: false });
  });

  it('reports values fixed by the environment and refuses to change them', async () => {
    // startMirror sets UPSTREAM_URL, UPSTREAM_TIMEOUT, UPSTREAM_RETRY_DELAY and UPSTREAM_PUBLIC_KEY.
    const settings = await api.settings();
    expect(settings.fixedByEnv).toMatchObject({ upstreamUrl: 'UPSTREAM_URL', timeoutMs: 'UPSTREAM_TIMEOUT', publicKeyPem: 'UPSTREAM_PUBLIC_KEY' });
    const error = await expectApiError(api.updateSettings({ upstreamUrl: 'https://other.example' }), 422);
    expect(error.body.fields!.upstreamUrl).toBe('fixed by the environment variable UPSTREAM_URL');
  });

  it('refuses malformed and oversized JSON bodies with clear errors', async () => {
    const url = new URL(`${API_PREFIX}/settings`, mirror.url);
    const send = (body: string) => fetch(url, { method: 'PATCH', headers: { [TOKEN_HEADER]: mirror.engine.token, 'content-type': 'application/json' }, body });
    const malformed = await send('{"upstreamEnabled": fal');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { message: string }).message).toMatch(/JSON/i);
    const huge = await send(JSON.stringify({ publicKeyPem: 'x'.repeat(2 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    const array = await send('[1,2]');
    expect(array.status).toBe(422);
  });

  it('evicts least recently used tarballs once over the size cap', async () => {
    // Random text does not compress, so each tarball is about 700 KB.
    const filler = () => `-module(big).\n%% ${randomBytes(520_000).toString('base64')}\n`;
    await repo.publish({ name: 'bigone', version: '1.0.0', erlangModuleSource: filler() });
    await repo.publish({ name: 'bigtwo', version: '1.0.0', erlangModuleSource: filler() });
    expect((await expectApiError(api.updateSettings({ sizeCapBytes: 10 }), 422)).body.fields!.sizeCapBytes).toMatch(/at least/);
    await api.updateSettings({ sizeCapBytes: 1024 * 1024 });
    expect((await api.settings()).values.sizeCapBytes).toBe(1024 * 1024);
    await getTarball('/tarballs/bigone-1.0.0.tar');
    await getTarball('/tarballs/plug-1.14.0.tar');
    await getTarball('/tarballs/bigtwo-1.0.0.tar');
    await new Promise((r) => setTimeout(r, 100));
    const disk = await api.disk();
    expect(disk.byKind.tarball + disk.byKind.docs).toBeLessThanOrEqual(1024 * 1024);
    const cached = (await api.listCache()).items.filter((i) => i.versions.length > 0).map((i) => i.name);
    expect(cached).toEqual(['bigtwo', 'plug']);
    // Registry records are kept.
    expect((await api.package('bigone')).registry).not.toBeNull();
  });
});

describe('events and pre-warm jobs', () => {
  it('streams transfers, cache changes and job progress as Server-Sent Events', async () => {
    const received: ServerEvent[] = [];
    const stop = new AbortController();
    void api.events((event) => received.push(event), stop.signal);
    await new Promise((r) => setTimeout(r, 200));
    upstream.fault.latencyMs(100, { path: '/tarballs/' });
    await httpGet(mirror.url, '/tarballs/plug-1.14.0.tar');
    const job = await api.startPrewarm({ packages: ['phoenix'] });
    await waitForJob(job.id);
    await new Promise((r) => setTimeout(r, 400));
    stop.abort();
    const types = new Set(received.map((e) => e.type));
    expect([...types]).toEqual(expect.arrayContaining(['hello', 'transfer', 'transfer-end', 'cache', 'job']));
    const ends = received.filter((e) => e.type === 'transfer-end');
    expect(ends.some((e) => e.type === 'transfer-end' && e.key === 'tarballs/plug-1.14.0.tar' && e.outcome === 'stored')).toBe(true);
    const last = received.filter((e) => e.type === 'job').at(-1);
    expect(last?.type === 'job' && last.job.state).toBe('done');
  });

  it('pre-warms a name with its dependencies, skipping what is cached, with a final report', async () => {
    await httpGet(mirror.url, '/tarballs/mime-2.0.5.tar');
    const started = await api.startPrewarm({ packages: ['phoenix'], concurrency: 2 });
    expect(started.concurrency).toBe(2);
    const job = await waitForJob(started.id);
    expect(job.state).toBe('done');
    const items = Object.fromEntries(job.items.map((i) => [`${i.name}@${i.version}`, i.state]));
    // plug: newest non-pre-release matching ~> 1.14; mime: 2.0.6 is retired, so 2.0.5, already cached.
    expect(items).toEqual({ 'phoenix@1.7.0': 'fetched', 'plug@1.14.0': 'fetched', 'mime@2.0.5': 'cached' });
    expect(job.totals).toMatchObject({ items: 3, fetched: 2, cached: 1, failed: 0 });
    expect((await api.jobs()).map((j) => j.id)).toContain(job.id);
  });

  it('pre-warms a mix.lock, skipping git deps and reporting checksum disagreements', async () => {
    const plug = repo.release('plug', '1.14.0')!;
    const mime = repo.release('mime', '2.0.5')!;
    const lock = [
      '%{',
      `  "plug": {:hex, :plug, "1.14.0", "${plug.innerChecksum}", [:mix], [], "hexpm", "${plug.outerChecksum}"},`,
      `  "mime": {:hex, :mime, "2.0.5", "${mime.innerChecksum}", [:mix], [], "hexpm", "${'0'.repeat(64)}"},`,
      '  "private": {:git, "https://example.com/private.git", "abc123", []},',
      '}',
    ].join('\n');
    const job = await waitForJob((await api.startPrewarm({ lockfile: { name: 'mix.lock', content: lock } })).id);
    // A checksum that differs is a warning: the registry's release was fetched.
    expect(job.state).toBe('done');
    expect(job.skipped.map((s) => s.name)).toEqual(['private']);
    expect(job.problems).toEqual([
      { name: 'mime', reason: expect.stringMatching(/differs/), detail: expect.stringMatching(/lock outer checksum 0+ differs/), warning: true },
    ]);
    expect(job.items.map((i) => i.state)).toEqual(['fetched', 'fetched']);
  });

  it('refuses a malformed request with field errors, and reports unknown packages as problems', async () => {
    expect((await expectApiError(api.startPrewarm({}), 422)).body.fields).toHaveProperty('request');
    expect((await expectApiError(api.startPrewarm({ lockfile: { name: 'mix.lock', content: '%{ "a": {:hex' } }), 422)).body.fields).toHaveProperty('lockfile');
    expect((await expectApiError(api.startPrewarm({ packages: ['Bad Name'] }), 422)).body.fields).toHaveProperty('packages');
    expect((await expectApiError(api.startPrewarm({ packages: ['plug'], concurrency: 0 }), 422)).body.fields).toHaveProperty('concurrency');
    const job = await waitForJob((await api.startPrewarm({ packages: ['nosuchpkg'] })).id);
    expect(job.state).toBe('failed');
    expect(job.problems[0]!.name).toBe('nosuchpkg');
  });

  it('cancels a job: queued items are not fetched', async () => {
    upstream.fault.latencyMs(300, { path: '/tarballs/' });
    const job = await api.startPrewarm({ packages: ['plug@1.13.0', 'plug@1.14.0', 'mime@2.0.5', 'phoenix@1.7.0'], concurrency: 1 });
    await new Promise((r) => setTimeout(r, 150));
    await api.cancelJob(job.id);
    const final = await waitForJob(job.id);
    expect(final.state).toBe('cancelled');
    expect(final.items.filter((i) => i.state === 'cancelled').length).toBeGreaterThan(0);
  });
});

describe('one Control, in process and over HTTP', () => {
  const outcome = (call: Promise<unknown>) =>
    call.then(
      (value) => ({ value }),
      (error: Error) => ({ error: error.message, fields: (error as { fields?: unknown }).fields }),
    );

  it('answers and refuses in process as the API does', async () => {
    await httpGet(mirror.url, '/tarballs/plug-1.14.0.tar');
    // The tarball may be answered before its registry record (fetched alongside) is stored: the two sides must see the same cache.
    await expect.poll(() => mirror.engine.index.get('registry/packages/plug')).toBeDefined();
    const local = mirror.engine.control;
    const pairs: [string, (control: Control) => Promise<unknown>][] = [
      ['list', (c) => c.listCache({ sort: 'size' })],
      ['package', (c) => c.package('plug')],
      ['disk', (c) => c.disk()],
      ['settings', (c) => c.settings()],
      ['proof', (c) => c.proof('ab'.repeat(16))],
      ['bad name', (c) => c.package('Not-A-Name')],
      ['bad version', (c) => c.deleteRelease('plug', 'one')],
      ['not cached', (c) => c.package('absent')],
      ['no job', (c) => c.job('nope')],
      ['bad query', (c) => c.listCache({ pageSize: 0 })],
      ['bad settings', (c) => c.updateSettings({ timeoutMs: -1 as never })],
      ['fixed setting', (c) => c.updateSettings({ upstreamUrl: 'https://other.example' })],
      ['bad pre-warm', (c) => c.startPrewarm([] as never)],
      ['bad nonce', (c) => c.proof('not hex')],
      ['bad setup URL', (c) => c.setupState('ftp://x')],
    ];
    for (const [what, call] of pairs) {
      const inProcess = await outcome(call(local));
      expect(inProcess, what).toEqual(await outcome(call(api)));
    }
    // The refusals are refusals on both sides, not two equal successes.
    expect(await outcome(local.package('Not-A-Name'))).toMatchObject({ error: '"Not-A-Name" is not a Hex package name' });
    expect(await outcome(local.listCache({ pageSize: 0 }))).toMatchObject({ fields: { pageSize: expect.any(String) } });
  });

  it('streams events in process: a hello with the status, then the changes', async () => {
    const received: ServerEvent[] = [];
    const stop = new AbortController();
    const following = mirror.engine.control.events((event) => received.push(event), stop.signal);
    await expect.poll(() => received.map((e) => e.type)).toContain('hello');
    await httpGet(mirror.url, '/tarballs/plug-1.14.0.tar');
    await expect.poll(() => received.some((e) => e.type === 'cache' && e.key === 'tarballs/plug-1.14.0.tar')).toBe(true);
    stop.abort();
    await following;
    const count = received.length;
    await httpGet(mirror.url, '/tarballs/mime-2.0.5.tar');
    expect(received).toHaveLength(count);
  });
});

describe('one-click setup through the API', () => {
  // Read-only here: applying would change the real HOME of whoever runs the tests. Applying
  // and undoing are tested on a temporary HOME in setup.test.ts.
  it('shows the current state and a dry run for this mirror, and validates the URL', async () => {
    const state = await api.setupState();
    expect(state.mirrorUrl).toBe(mirror.url);
    expect(state.mix.url).toMatch(/^https?:\/\//);
    expect(state.files.length).toBeGreaterThan(0);
    const dry = await api.applySetup({ dryRun: true, mirrorUrl: 'http://127.0.0.1:4999' });
    expect(dry.backup).toBeNull();
    expect(dry.changes.some((c) => c.diff.includes('http://127.0.0.1:4999'))).toBe(true);
    expect((await expectApiError(api.applySetup({ dryRun: true, mirrorUrl: 'ftp://x' }), 422)).body.fields).toHaveProperty('mirrorUrl');
  });
});
