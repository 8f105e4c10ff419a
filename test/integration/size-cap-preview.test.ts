// Lowering the size cap, the safe way: a preview of what it would evict (computed by the same
// choice the eviction makes, so the two agree key for key), refusals of caps that are not one,
// and releases the cap evicted shown as "evicted (size cap)" until they are fetched again.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, type ApiClient } from '../../src-shared/api-client.js';
import { API_PREFIX, TOKEN_HEADER } from '../../src-shared/contract.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';

const MiB = 1024 * 1024;
let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror;
let api: ApiClient;

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

/** Tarballs and docs in the index, with their sizes. */
function evictable(): Map<string, number> {
  return new Map(
    mirror.engine.index
      .all()
      .filter(([, e]) => e.kind === 'tarball' || e.kind === 'docs')
      .map(([key, e]) => [key, e.size]),
  );
}

async function fetchInOrder(paths: string[]): Promise<void> {
  for (const path of paths) {
    expect((await httpGet(mirror.url, path)).status, path).toBe(200);
    // Distinct last-used times, so the order is the one asked for.
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeEach(async () => {
  repo = new FixtureRepo();
  // Random text does not compress, so each of these tarballs is about 700 KB.
  const filler = () => `-module(big).\n%% ${randomBytes(520_000).toString('base64')}\n`;
  await repo.publish({ name: 'bigone', version: '1.0.0', erlangModuleSource: filler() });
  await repo.publish({ name: 'bigone', version: '1.1.0', erlangModuleSource: filler() });
  await repo.publish({ name: 'bigtwo', version: '1.0.0', erlangModuleSource: filler() });
  await repo.publish({ name: 'plug', version: '1.14.0' });
  await repo.publish({ name: 'mime', version: '2.0.5' });
  upstream = await startFakeUpstream(repo);
  mirror = await startMirror(upstream.url);
  api = createApiClient({ baseUrl: mirror.url, token: mirror.engine.token });
  await fetchInOrder([
    '/tarballs/bigone-1.0.0.tar',
    '/tarballs/plug-1.14.0.tar',
    '/tarballs/bigone-1.1.0.tar',
    '/tarballs/mime-2.0.5.tar',
    '/tarballs/bigtwo-1.0.0.tar',
  ]);
});

afterEach(async () => {
  await mirror.stop();
  await upstream.close();
  await removeDir(mirror.dataDir);
});

describe('size cap preview', () => {
  it('lists exactly what saving the cap then evicts, least recently used first, and removes nothing itself', async () => {
    const before = evictable();
    const preview = await api.capPreview(MiB);
    expect(evictable()).toEqual(before);
    expect(preview.sizeCapBytes).toBe(MiB);
    expect(preview.evict.map((e) => e.key)).toEqual(['tarballs/bigone-1.0.0.tar', 'tarballs/plug-1.14.0.tar', 'tarballs/bigone-1.1.0.tar']);
    expect(preview.evict[0]).toMatchObject({ name: 'bigone', version: '1.0.0', kind: 'tarball', bytes: before.get('tarballs/bigone-1.0.0.tar') });
    expect(preview.evict.map((e) => e.lastUsed)).toEqual([...preview.evict.map((e) => e.lastUsed)].sort((a, b) => a - b));
    expect(preview.bytes).toBe(preview.evict.reduce((sum, e) => sum + e.bytes, 0));
    expect(preview.afterBytes).toBe(preview.totalBytes - preview.bytes);
    expect(Object.fromEntries(preview.packages.map((p) => [p.name, p.releases]))).toEqual({ bigone: 2, plug: 1 });
    expect(preview.packages[0]!.name).toBe('bigone');
    expect(preview.packages.map((p) => p.bytes)).toEqual([...preview.packages.map((p) => p.bytes)].sort((a, b) => b - a));

    await api.updateSettings({ sizeCapBytes: MiB });
    for (let i = 0; i < 100 && evictable().size > before.size - preview.evict.length; i++) await new Promise((r) => setTimeout(r, 20));
    // Time for anything more the eviction might (wrongly) remove.
    await new Promise((r) => setTimeout(r, 200));
    const after = evictable();
    const gone = [...before.keys()].filter((key) => !after.has(key));
    expect(gone).toEqual(preview.evict.map((e) => e.key));
    expect(gone.reduce((sum, key) => sum + before.get(key)!, 0)).toBe(preview.bytes);
    expect((await api.capPreview(MiB)).evict).toEqual([]);
  });

  it('previews nothing without a cap or above what is cached, and refuses what is not a cap', async () => {
    expect(await api.capPreview(null)).toMatchObject({ sizeCapBytes: null, evict: [], packages: [], bytes: 0 });
    expect((await api.capPreview(1024 * MiB)).evict).toEqual([]);
    // 0 is no cap, as in the settings.
    expect((await api.capPreview(0)).sizeCapBytes).toBeNull();
    for (const bad of [-1, 1.5]) {
      const error = await refusal(api.capPreview(bad));
      expect(error.status).toBe(422);
      expect(error.body.fields!.sizeCapBytes).toMatch(/whole number of bytes, 0 or more/);
    }
    expect((await refusal(api.capPreview(10))).body.fields!.sizeCapBytes).toMatch(/at least 1 MiB/);
    const raw = await httpGet(mirror.url, `${API_PREFIX}/disk/cap-preview?sizeCapBytes=lots`, { headers: { [TOKEN_HEADER]: mirror.engine.token } });
    expect(raw.status).toBe(422);
    const none = await httpGet(mirror.url, `${API_PREFIX}/disk/cap-preview?sizeCapBytes=none`, { headers: { [TOKEN_HEADER]: mirror.engine.token } });
    expect(JSON.parse(none.body.toString())).toMatchObject({ sizeCapBytes: null, evict: [] });
  });

  it('says what is wrong with a negative cap in the settings', async () => {
    const error = await refusal(api.updateSettings({ sizeCapBytes: -1 }));
    expect(error.body.fields!.sizeCapBytes).toBe('must be 0 or more; leave it empty for no cap');
    expect((await refusal(api.updateSettings({ retryAttempts: -1 }))).body.fields!.retryAttempts).toMatch(/^must be \d+ or more, got -1$/);
  });
});

describe('releases the cap evicted', () => {
  it('read "evicted (size cap)" in the package, across a restart, until fetched again', async () => {
    await api.updateSettings({ sizeCapBytes: MiB });
    for (let i = 0; i < 100 && mirror.engine.index.get('tarballs/bigone-1.0.0.tar'); i++) await new Promise((r) => setTimeout(r, 20));
    const release = async (name: string, version: string) => (await api.package(name)).registry!.releases.find((r) => r.version === version)!;
    const evicted = await release('bigone', '1.0.0');
    expect(evicted.cached.tarball).toBe(false);
    expect(evicted.evicted).toEqual({ at: expect.any(Number), reason: 'size cap' });
    expect((await release('bigtwo', '1.0.0')).evicted).toBeUndefined();
    // The cache list says so too, for a package with no tarball left.
    const summary = async (name: string) => (await api.listCache({ q: name })).items.find((p) => p.name === name)!;
    expect(await summary('bigone')).toMatchObject({ versions: [], evicted: 2 });
    expect(await summary('bigtwo')).toMatchObject({ evicted: 0 });

    mirror = await mirror.restart();
    api = createApiClient({ baseUrl: mirror.url, token: mirror.engine.token });
    expect((await release('bigone', '1.0.0')).evicted).toEqual(evicted.evicted);

    await api.updateSettings({ sizeCapBytes: null });
    await fetchInOrder(['/tarballs/bigone-1.0.0.tar']);
    const again = await release('bigone', '1.0.0');
    expect(again.cached.tarball).toBe(true);
    expect(again.evicted).toBeUndefined();
    expect((await summary('bigone')).evicted).toBe(1);
  });
});
