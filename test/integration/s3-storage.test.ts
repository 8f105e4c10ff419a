// Team mode against a real S3 server: a single-node Ceph radosgw started by the test
// (test/support/ceph.ts), several mirror instances sharing one bucket.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src-main/store/keys.js';
import { cephAvailable, startCeph, type Ceph } from '../support/ceph.js';
import { serve, upstreamEnv } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';
import { createRebar3Project } from '../support/rebar3.js';
import { publishSized } from '../support/sized-fixtures.js';
import { requireTool } from '../support/tools.js';

const enabled = cephAvailable();
const hasRebar3 = enabled && requireTool('rebar3', 'apt-get install erlang-nox rebar3', ['version']);
const MiB = 1024 * 1024;
const PREFIX = 'team/';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const names = Array.from({ length: 10 }, (_, i) => `shared_${i}`);

describe.runIf(enabled)('S3 storage on a real radosgw', () => {
  let ceph: Ceph;
  let repo: FixtureRepo;
  let upstream: FakeUpstream;
  let buckets = 0;
  const mirrors: TestMirror[] = [];

  beforeAll(async () => {
    ceph = await startCeph();
    // The SDK reads credentials through its default chain, from the process environment.
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: ceph.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ceph.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    repo = new FixtureRepo();
    await repo.publish({ name: 'leaf', version: '1.0.0' });
    await repo.publish({ name: 'mid', version: '0.1.0', deps: [{ name: 'leaf', requirement: '~> 1.0' }] });
    for (const name of names) await repo.publish({ name, version: '1.0.0' }, { docs: false });
    await publishSized(repo, 'large', '1.0.0', 12 * MiB, 7);
    await publishSized(repo, 'mediuma', '1.0.0', 700 * 1024, 8);
    await publishSized(repo, 'mediumb', '1.0.0', 700 * 1024, 9);
    upstream = await startFakeUpstream(repo);
    for (let i = 0; i < BUCKETS; i++) await ceph.createBucket(`hexhub-test-${i}`);
  }, 120_000);

  afterEach(async () => {
    for (const mirror of mirrors.splice(0)) {
      await mirror.stop();
      await removeDir(mirror.dataDir);
    }
    upstream.fault.clear();
  });

  afterAll(async () => {
    await upstream?.close();
    await ceph?.stop();
  });

  /** Each test gets a bucket of its own, created up front: after a gateway restart the first bucket creation stalls for seconds. */
  const BUCKETS = 10;
  async function newBucket(): Promise<string> {
    if (buckets >= BUCKETS) throw new Error('raise BUCKETS');
    return `hexhub-test-${buckets++}`;
  }

  function s3Env(bucket: string, extra: Record<string, string> = {}): Record<string, string> {
    return { ...ceph.env(), HEXHUB_STORAGE: 's3', S3_BUCKET: bucket, S3_PREFIX: PREFIX, ...extra };
  }

  async function instance(bucket: string, extra: Record<string, string> = {}): Promise<TestMirror> {
    const mirror = await startMirror(upstream.url, s3Env(bucket, extra));
    mirrors.push(mirror);
    return mirror;
  }

  async function getAll(mirror: TestMirror, paths: string[]) {
    return Promise.all(paths.map((path) => httpGet(mirror.url, path)));
  }

  it('serves what one instance fetched from any other, with no upstream request and the same ETag', async () => {
    const bucket = await newBucket();
    const [a, b] = [await instance(bucket), await instance(bucket)];
    const paths = ['/packages/leaf', '/tarballs/leaf-1.0.0.tar', '/docs/leaf-1.0.0.tar.gz'];
    const fromA = await getAll(a, paths);
    expect(fromA.map((r) => r.status)).toEqual([200, 200, 200]);
    upstream.resetRequests();
    const fromB = await getAll(b, paths);
    for (const [i, reply] of fromB.entries()) {
      expect(reply.status).toBe(200);
      expect(reply.body.equals(fromA[i]!.body)).toBe(true);
      expect(reply.headers.etag).toBe(fromA[i]!.headers.etag);
    }
    expect(upstream.requests).toEqual([]);
    expect(fromB[1]!.body.equals(repo.release('leaf', '1.0.0')!.bytes)).toBe(true);
    // The bucket holds each object once, under the prefix, with the right bytes.
    const stored = await ceph.listKeys(bucket, PREFIX);
    expect(stored).toEqual(expect.arrayContaining([`${PREFIX}registry/packages/leaf`, `${PREFIX}tarballs/leaf-1.0.0.tar`, `${PREFIX}docs/leaf-1.0.0.tar.gz`]));
    expect(sha256(await ceph.getObject(bucket, `${PREFIX}tarballs/leaf-1.0.0.tar`))).toBe(repo.release('leaf', '1.0.0')!.outerChecksum);
    expect((await b.engine.status()).storage).toMatchObject({ backend: 's3', writable: true, location: expect.stringContaining(`s3://${bucket}/${PREFIX}`) });
  });

  it('ends 50 concurrent cold misses split across two instances with one stored object per key and correct bytes everywhere', async () => {
    const bucket = await newBucket();
    const [a, b] = [await instance(bucket), await instance(bucket)];
    // Every key asked of both instances at once.
    const requests = Array.from({ length: 50 }, (_, i) => ({ mirror: Math.floor(i / names.length) % 2 ? b : a, name: names[i % names.length]! }));
    const replies = await Promise.all(requests.map(({ mirror, name }) => httpGet(mirror.url, `/tarballs/${name}-1.0.0.tar`)));
    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      expect(sha256(reply.body)).toBe(repo.release(requests[i]!.name, '1.0.0')!.outerChecksum);
    }
    const tarballs = (await ceph.listKeys(bucket, `${PREFIX}tarballs/`)).sort();
    expect(tarballs).toEqual(names.map((n) => `${PREFIX}tarballs/${n}-1.0.0.tar`).sort());
    for (const name of names) {
      expect(sha256(await ceph.getObject(bucket, `${PREFIX}tarballs/${name}-1.0.0.tar`))).toBe(repo.release(name, '1.0.0')!.outerChecksum);
      // Both instances record the same object (same checksum, so the same ETag for clients).
      expect(a.engine.index.get(keys.tarball(name, '1.0.0'))?.sha256).toBe(b.engine.index.get(keys.tarball(name, '1.0.0'))?.sha256);
    }
    // Each instance fetched at most once per key; where both did, the second upload lost the
    // conditional PUT and kept the first (nothing overwritten).
    expect(upstream.countRequests('/tarballs/')).toBeLessThanOrEqual(2 * names.length);
  });

  it('keeps serving while the object store is down (local copies, else passed through, never a partial object) and recovers', async () => {
    const bucket = await newBucket();
    const a = await instance(bucket, { HEXHUB_LOG_LEVEL: 'info' });
    expect((await httpGet(a.url, '/tarballs/leaf-1.0.0.tar')).status).toBe(200);
    expect((await httpGet(a.url, '/readyz')).status).toBe(200);

    await ceph.stopGateway('SIGKILL');
    const warm = await httpGet(a.url, '/tarballs/leaf-1.0.0.tar');
    expect(warm.status).toBe(200);
    expect(warm.headers['x-hexhub-cache']).toBe('HIT');
    const cold = await httpGet(a.url, '/tarballs/shared_3-1.0.0.tar');
    expect(cold.status).toBe(200);
    expect(sha256(cold.body)).toBe(repo.release('shared_3', '1.0.0')!.outerChecksum);
    const status = await a.engine.status();
    expect(status.storage).toMatchObject({ backend: 's3', writable: false, reason: 'object store unreachable' });
    expect(a.logs.some((l) => l.event === 'storage_failed')).toBe(true);
    const ready = await httpGet(a.url, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body.toString())).toMatchObject({
      status: 'unavailable',
      storage: { backend: 's3', state: 'unreachable' },
      upstream: { state: 'ok' },
    });
    expect((await httpGet(a.url, '/healthz')).status).toBe(200);
    expect(a.engine.index.get(keys.tarball('shared_3', '1.0.0'))).toBeUndefined();
    expect(await readdir(join(a.dataDir, 'tmp'))).toEqual([]);

    await ceph.startGateway();
    // Nothing of the passed-through object reached the bucket.
    expect(await ceph.listKeys(bucket, `${PREFIX}tarballs/shared_3`)).toEqual([]);
    const again = await httpGet(a.url, '/tarballs/shared_3-1.0.0.tar');
    expect(sha256(again.body)).toBe(repo.release('shared_3', '1.0.0')!.outerChecksum);
    expect(await ceph.listKeys(bucket, `${PREFIX}tarballs/shared_3`)).toEqual([`${PREFIX}tarballs/shared_3-1.0.0.tar`]);
    expect((await a.engine.status()).storage.writable).toBe(true);
    expect((await httpGet(a.url, '/readyz')).status).toBe(200);
  }, 90_000);

  it('gives a new instance with an empty index the whole bucket: listed, and served without the upstream', async () => {
    const bucket = await newBucket();
    const a = await instance(bucket);
    await getAll(a, ['/tarballs/leaf-1.0.0.tar', '/tarballs/mid-0.1.0.tar', '/tarballs/shared_0-1.0.0.tar']);
    await a.stop();
    upstream.resetRequests();
    const fresh = await instance(bucket);
    // The listing comes from the bucket (synced at start, in the background).
    for (let i = 0; i < 100 && fresh.engine.catalog.counts().releases < 3; i++) await new Promise((r) => setTimeout(r, 50));
    expect(
      fresh.engine.catalog
        .list({})
        .items.map((p) => p.name)
        .sort(),
    ).toEqual(['leaf', 'mid', 'shared_0']);
    expect((await fresh.engine.catalog.disk(null)).byKind.tarball).toBeGreaterThan(0);
    const replies = await getAll(fresh, ['/tarballs/leaf-1.0.0.tar', '/tarballs/mid-0.1.0.tar', '/packages/mid']);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(replies[0]!.body.equals(repo.release('leaf', '1.0.0')!.bytes)).toBe(true);
    expect(upstream.requests).toEqual([]);
  });

  it('shows what another instance stores, or deletes, in every instance’s listing after a sync', async () => {
    const bucket = await newBucket();
    const [a, b] = [await instance(bucket, { HEXHUB_S3_SYNC_INTERVAL: '1' }), await instance(bucket, { HEXHUB_S3_SYNC_INTERVAL: '1' })];
    await httpGet(a.url, '/tarballs/shared_5-1.0.0.tar');
    const listed = () => b.engine.catalog.list({}).items.map((p) => p.name);
    // A sync adopts objects one HEAD at a time: wait for the tarball itself, not just its package.
    const known = () => b.engine.index.get(keys.tarball('shared_5', '1.0.0')) !== undefined;
    for (let i = 0; i < 100 && !known(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(listed()).toContain('shared_5');
    expect(b.engine.index.get(keys.tarball('shared_5', '1.0.0'))?.sha256).toBe(repo.release('shared_5', '1.0.0')!.outerChecksum);
    await a.engine.admin.deletePackage('shared_5');
    for (let i = 0; i < 100 && listed().includes('shared_5'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(listed()).not.toContain('shared_5');
  });

  it('uploads large objects in parts, and serves them from another instance', async () => {
    const bucket = await newBucket();
    const [a, b] = [await instance(bucket, { S3_MULTIPART_THRESHOLD: '6' }), await instance(bucket, { S3_MULTIPART_THRESHOLD: '6' })];
    const fromA = await httpGet(a.url, '/tarballs/large-1.0.0.tar');
    expect(sha256(fromA.body)).toBe(repo.release('large', '1.0.0')!.outerChecksum);
    upstream.resetRequests();
    const fromB = await httpGet(b.url, '/tarballs/large-1.0.0.tar');
    expect(sha256(fromB.body)).toBe(repo.release('large', '1.0.0')!.outerChecksum);
    expect(upstream.requests).toEqual([]);
    expect(sha256(await ceph.getObject(bucket, `${PREFIX}tarballs/large-1.0.0.tar`))).toBe(repo.release('large', '1.0.0')!.outerChecksum);
  });

  it('bounds the local copies by HEXHUB_SIZE_CAP, least recently used out; the bucket keeps them', async () => {
    const bucket = await newBucket();
    const a = await instance(bucket, { HEXHUB_SIZE_CAP: '1M' });
    await httpGet(a.url, '/tarballs/mediuma-1.0.0.tar');
    await httpGet(a.url, '/tarballs/mediumb-1.0.0.tar');
    const pathA = a.engine.store.path(keys.tarball('mediuma', '1.0.0'));
    for (let i = 0; i < 50 && existsSync(pathA); i++) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(pathA)).toBe(false);
    expect(existsSync(a.engine.store.path(keys.tarball('mediumb', '1.0.0')))).toBe(true);
    // Still listed (the bucket has it), and served from the bucket, not the upstream.
    expect(a.engine.index.get(keys.tarball('mediuma', '1.0.0'))).toBeDefined();
    upstream.resetRequests();
    a.engine.store.hot.delete(keys.tarball('mediuma', '1.0.0'));
    const again = await httpGet(a.url, '/tarballs/mediuma-1.0.0.tar');
    expect(sha256(again.body)).toBe(repo.release('mediuma', '1.0.0')!.outerChecksum);
    expect(upstream.countRequests('/tarballs/')).toBe(0);
  });

  it('deletes through the control API remove the object from the bucket', async () => {
    const bucket = await newBucket();
    const a = await instance(bucket);
    await httpGet(a.url, '/tarballs/leaf-1.0.0.tar');
    expect(await ceph.listKeys(bucket, `${PREFIX}tarballs/`)).toHaveLength(1);
    await a.engine.admin.deleteRelease('leaf', '1.0.0');
    expect(await ceph.listKeys(bucket, `${PREFIX}tarballs/`)).toEqual([]);
  });

  it('fails at start with a clear message for a missing bucket or bad credentials', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hexhub-s3-start-'));
    try {
      const base = { ...upstreamEnv(upstream.url), ...s3Env('hexhub-no-such-bucket') };
      await expect(serve(['--port', '0', '--data-dir', dataDir], base)).rejects.toThrow(/S3 bucket "hexhub-no-such-bucket" does not exist/);
      const bucket = await newBucket();
      await expect(serve(['--port', '0', '--data-dir', dataDir], { ...base, ...s3Env(bucket), AWS_SECRET_ACCESS_KEY: 'wrong' })).rejects.toThrow(
        /refused \(HTTP 403\).*AWS_ACCESS_KEY_ID/,
      );
      await expect(serve(['--port', '0', '--data-dir', dataDir], { ...base, HEXHUB_STORAGE: 's3', S3_BUCKET: '' })).rejects.toThrow(
        /S3_BUCKET: required when HEXHUB_STORAGE=s3/,
      );
    } finally {
      await removeDir(dataDir);
    }
  }, 60_000);

  it.runIf(hasRebar3)(
    'a real rebar3 build passes through instance B after a cold fetch through instance A',
    async () => {
      const bucket = await newBucket();
      const [a, b] = [await instance(bucket), await instance(bucket)];
      const first = await createRebar3Project({ mid: '~> 0.1' });
      const second = await createRebar3Project({ mid: '~> 0.1' });
      try {
        const cold = await first.run(['compile'], a.url);
        expect(cold.code, cold.output).toBe(0);
        // B has never seen these packages and the upstream is gone: only the bucket can serve them.
        await upstream.stop();
        const warm = await second.run(['compile'], b.url);
        expect(warm.code, warm.output).toBe(0);
        expect(warm.output).toMatch(/Compiling leaf/);
      } finally {
        await upstream.start();
        await first.remove();
        await second.remove();
      }
    },
    240_000,
  );
});
