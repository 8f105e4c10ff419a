// The upstream misbehaving in every way the issue lists; each ends in its documented
// outcome and the cache stays consistent (nothing unverified or partial is stored).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror;

async function useMirror(env: Record<string, string>) {
  await mirror.stop();
  mirror = await startMirror(upstream.url, env, mirror.dataDir);
}

async function tmpFiles(): Promise<string[]> {
  return readdir(join(mirror.dataDir, 'tmp'));
}

beforeEach(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'leaf', version: '1.0.0' });
  await repo.publish({ name: 'big', version: '1.0.0', description: 'x'.repeat(10) });
  await repo.publish({ name: 'other', version: '0.1.0' });
  upstream = await startFakeUpstream(repo);
  mirror = await startMirror(upstream.url);
});

afterEach(async () => {
  await mirror.stop();
  // Whatever the fault, the cache is left consistent: no partial file anywhere, and every
  // object the index lists matches its recorded size and checksum.
  await expect.poll(tmpFiles).toEqual([]);
  const report = await mirror.engine.admin.verify();
  expect(report.problems).toEqual([]);
  await upstream.close();
  await removeDir(mirror.dataDir);
});

describe('an unreachable or slow upstream', () => {
  it('serves the stored registry copy when the upstream is down (stale-if-error), and says so', async () => {
    await useMirror({ HEXHUB_REGISTRY_TTL: '0' });
    const fresh = await httpGet(mirror.url, '/packages/leaf');
    await upstream.stop();
    const stale = await httpGet(mirror.url, '/packages/leaf');
    expect(stale.status).toBe(200);
    expect(stale.body.equals(fresh.body)).toBe(true);
    expect(stale.headers['x-hexhub-cache']).toBe('STALE');
    expect(String(stale.headers['x-hexhub-stale'])).toMatch(/unreachable|ECONNREFUSED/);
    expect(mirror.logs.some((l) => l.event === 'stale_serve' && l.key === 'registry/packages/leaf')).toBe(true);
    // Tarballs already cached keep being served; uncached ones fail plainly.
    await upstream.start();
    await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    await upstream.stop();
    expect((await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar')).status).toBe(200);
    const missing = await httpGet(mirror.url, '/packages/other');
    expect(missing.status).toBe(502);
    expect(missing.body.toString()).toMatch(/upstream/);
  });

  it('notices the upstream coming back by itself (a light probe while it is down)', async () => {
    await mirror.stop();
    mirror = await startMirror(upstream.url, { UPSTREAM_RETRY_ATTEMPTS: '0' }, mirror.dataDir, { healthProbeMs: 50 });
    await upstream.stop();
    expect((await httpGet(mirror.url, '/packages/leaf')).status).toBe(502);
    expect(mirror.engine.upstream.health.reachable).toBe(false);
    await upstream.start();
    for (let i = 0; i < 100 && !mirror.engine.upstream.health.reachable; i++) await new Promise((r) => setTimeout(r, 20));
    expect(mirror.engine.upstream.health.reachable).toBe(true);
    expect(upstream.requests.some((r) => r.method === 'HEAD' && r.path === '/names')).toBe(true);
  });

  it('calls an upstream that answers 5xx unreachable only after several failed requests in a row', async () => {
    await useMirror({ UPSTREAM_RETRY_ATTEMPTS: '0' });
    expect((await httpGet(mirror.url, '/packages/leaf')).status).toBe(200);
    upstream.fault.status(503);
    expect((await httpGet(mirror.url, '/packages/big')).status).toBe(502);
    expect((await httpGet(mirror.url, '/packages/other')).status).toBe(502);
    // Two 503s: a flapping upstream, still "reachable" (no banner flicker, no log storm).
    expect(mirror.engine.upstream.health.reachable).toBe(true);
    expect(mirror.engine.upstream.health.lastError).toMatch(/503/);
    expect((await httpGet(mirror.url, '/packages/other')).status).toBe(502);
    expect(mirror.engine.upstream.health.reachable).toBe(false);
  });

  it('reports liveness and readiness: an unreachable upstream degrades readiness, and fails it only when asked to be strict', async () => {
    const ready = async (path = '/readyz') => {
      const reply = await httpGet(mirror.url, path);
      return {
        status: reply.status,
        body: JSON.parse(reply.body.toString()) as { status: string; storage: { backend: string; state: string }; upstream: { state: string } },
      };
    };
    expect((await httpGet(mirror.url, '/healthz')).status).toBe(200);
    expect(await ready()).toMatchObject({ status: 200, body: { status: 'ready', storage: { backend: 'fs', state: 'ok' }, upstream: { state: 'ok' } } });
    await upstream.stop();
    expect((await httpGet(mirror.url, '/packages/other')).status).toBe(502);
    expect(await ready()).toMatchObject({ status: 200, body: { status: 'degraded', upstream: { state: 'unreachable' } } });
    expect(await ready('/readyz?strict')).toMatchObject({ status: 503, body: { status: 'unavailable' } });
    await upstream.start();
  });

  it('absorbs flapping 503s with retries, honouring Retry-After (clients never see them)', async () => {
    upstream.fault.status503({ times: 2, retryAfter: 0 });
    const reply = await httpGet(mirror.url, '/packages/leaf');
    expect(reply.status).toBe(200);
    expect(upstream.countRequests('/packages/leaf')).toBe(3);

    upstream.fault.flap({ path: '/tarballs/' });
    const tarball = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(tarball.status).toBe(200);
    expect(sha256(tarball.body)).toBe(repo.release('leaf', '1.0.0')!.outerChecksum);
    expect(upstream.countRequests('/tarballs/leaf-1.0.0.tar')).toBe(2);
  });

  it('gives up after the configured attempts and never retries a 4xx', async () => {
    await useMirror({ UPSTREAM_RETRY_ATTEMPTS: '2' });
    upstream.fault.status503({ times: 10 });
    const reply = await httpGet(mirror.url, '/packages/leaf');
    expect(reply.status).toBe(502);
    expect(reply.body.toString()).toMatch(/503/);
    expect(upstream.countRequests('/packages/leaf')).toBe(3);
    upstream.fault.clear();
    upstream.resetRequests();
    upstream.fault.status(429, { path: '/packages/other' });
    expect((await httpGet(mirror.url, '/packages/other')).status).toBe(502);
    expect(upstream.countRequests('/packages/other')).toBe(1);
  });

  it('times out an upstream that does not answer, with a 504, and serves stale where it can', async () => {
    await useMirror({ UPSTREAM_TIMEOUT: '300', UPSTREAM_RETRY_ATTEMPTS: '1', HEXHUB_REGISTRY_TTL: '0' });
    await httpGet(mirror.url, '/packages/leaf');
    upstream.fault.hangMs(5000);
    const missing = await httpGet(mirror.url, '/packages/other');
    expect(missing.status).toBe(504);
    expect(missing.body.toString()).toMatch(/timed out/);
    const stale = await httpGet(mirror.url, '/packages/leaf');
    expect(stale.status).toBe(200);
    expect(stale.headers['x-hexhub-cache']).toBe('STALE');
  });

  it('resumes a tarball body cut off mid-way (truncated or reset) so the client gets it whole', async () => {
    const release = repo.release('big', '1.0.0')!;
    upstream.fault.truncate({ path: '/tarballs/', times: 1, afterBytes: 1000 });
    const truncated = await httpGet(mirror.url, '/tarballs/big-1.0.0.tar');
    expect(truncated.status).toBe(200);
    expect(truncated.error).toBeUndefined();
    expect(truncated.body.equals(release.bytes)).toBe(true);
    expect(upstream.requests.filter((r) => r.path === '/tarballs/big-1.0.0.tar').map((r) => r.headers.range)).toEqual([undefined, 'bytes=1000-']);

    upstream.fault.reset({ path: '/tarballs/leaf', times: 1, afterBytes: 512 });
    const reset = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(reset.body.equals(repo.release('leaf', '1.0.0')!.bytes)).toBe(true);
    await expect.poll(tmpFiles).toEqual([]);
  });

  it('fails a body that keeps breaking, never giving the client a whole body, and storing nothing', async () => {
    await useMirror({ UPSTREAM_RETRY_ATTEMPTS: '1' });
    upstream.fault.truncate({ path: '/tarballs/' });
    const reply = await httpGet(mirror.url, '/tarballs/big-1.0.0.tar');
    // Before any of the body went out, a 502 that says why; after, a cut-off transfer.
    if (reply.status === 502) expect(reply.body.toString()).toMatch(/^upstream failed for tarballs\/big-1\.0\.0\.tar: .*(aborted|ended)/);
    else expect(reply.error).toBeDefined();
    expect(reply.body.length).toBeLessThan(repo.release('big', '1.0.0')!.bytes.length);
    expect(existsSync(join(mirror.dataDir, 'cache/tarballs/big-1.0.0.tar'))).toBe(false);
    await expect.poll(tmpFiles).toEqual([]);
    // Once the upstream behaves, the same request succeeds.
    upstream.fault.clear();
    expect((await httpGet(mirror.url, '/tarballs/big-1.0.0.tar')).body.equals(repo.release('big', '1.0.0')!.bytes)).toBe(true);
  });

  it('refuses an oversized body (more bytes than announced)', async () => {
    upstream.fault.oversized({ path: '/tarballs/', totalBytes: 200_000, chunked: true });
    const reply = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(reply.status === 502 || reply.error !== undefined).toBe(true);
    expect(existsSync(join(mirror.dataDir, 'cache/tarballs/leaf-1.0.0.tar'))).toBe(false);
  });
});

describe('tampered upstream data', () => {
  it('refuses a registry record with a bad signature: 502, not stored, the good copy stays', async () => {
    await useMirror({ HEXHUB_REGISTRY_TTL: '0' });
    const good = await httpGet(mirror.url, '/packages/leaf');
    await repo.publish({ name: 'leaf', version: '1.1.0' });
    upstream.fault.badSignature();
    const bad = await httpGet(mirror.url, '/packages/leaf');
    expect(bad.status).toBe(502);
    expect(bad.body.toString()).toMatch(/signature/);
    expect((await readFile(join(mirror.dataDir, 'cache/registry/packages/leaf'))).equals(good.body)).toBe(true);
    expect((await httpGet(mirror.url, '/packages/other')).status).toBe(502);
    expect(existsSync(join(mirror.dataDir, 'cache/registry/packages/other'))).toBe(false);
    expect((await httpGet(mirror.url, '/names')).status).toBe(502);
    const metrics = (await httpGet(mirror.url, '/metrics')).body.toString();
    expect(metrics).toMatch(/hexhub_verification_failures_total\{kind="registry",reason="bad_signature"\} [1-9]/);
  });

  it('refuses a record for another package at /packages/NAME (origin check)', async () => {
    upstream.fault.wrongPackage({ serve: 'other' });
    const reply = await httpGet(mirror.url, '/packages/leaf');
    expect(reply.status).toBe(502);
    expect(reply.body.toString()).toMatch(/package "other", requested "leaf"/);
    expect(existsSync(join(mirror.dataDir, 'cache/registry/packages/leaf'))).toBe(false);
  });

  it('refuses records from another repository', async () => {
    upstream.fault.wrongRepo({ repository: 'evil' });
    for (const path of ['/packages/leaf', '/names', '/versions']) {
      const reply = await httpGet(mirror.url, path);
      expect(reply.status, path).toBe(502);
      expect(reply.body.toString()).toMatch(/repository "evil"/);
    }
  });

  it('refuses a tarball whose checksum does not match the registry, after refreshing the record once, with a 502 naming the reason', async () => {
    upstream.fault.corruptTarball();
    const first = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    // The last chunk is held back until verified, and the head goes out with the first chunk
    // sent: a small tarball refused is answered, not cut off (Hex printed "socket closed remotely").
    expect(first.status).toBe(502);
    expect(first.error).toBeUndefined();
    expect(first.body.toString()).toMatch(/refused upstream tarballs\/leaf-1\.0\.0\.tar: SHA-256 [0-9a-f]{64} does not match the registry checksum/);
    expect(upstream.countRequests('/packages/leaf')).toBe(2);
    expect(existsSync(join(mirror.dataDir, 'cache/tarballs/leaf-1.0.0.tar'))).toBe(false);
    // The refreshed record's checksums are used once verified; storing it may finish just after the answer.
    await expect.poll(tmpFiles).toEqual([]);
    expect(mirror.logs.some((l) => l.event === 'upstream_fetch' && l.outcome === 'failed' && String(l.error).includes('does not match'))).toBe(true);

    upstream.fault.clear();
    const second = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(second.status).toBe(200);
    expect(sha256(second.body)).toBe(repo.release('leaf', '1.0.0')!.outerChecksum);
  });

  it('answers waiters of a refused tarball with a 502 and the reason', async () => {
    upstream.fault.corruptTarball();
    upstream.fault.latencyMs(200, { path: '/tarballs/' });
    const replies = await Promise.all(Array.from({ length: 4 }, () => httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar')));
    const refused = replies.filter((r) => r.status === 502);
    expect(refused.length).toBe(4);
    for (const reply of refused) expect(reply.body.toString()).toMatch(/does not match the registry checksum/);
    expect(upstream.countRequests('/tarballs/')).toBe(1);
  });

  it('refuses docs that are not a whole gzip stream', async () => {
    await repo.publishDocs('leaf', '1.0.0');
    upstream.fault.truncate({ path: '/docs/' });
    await useMirror({ UPSTREAM_RETRY_ATTEMPTS: '0' });
    const reply = await httpGet(mirror.url, '/docs/leaf-1.0.0.tar.gz');
    expect(reply.status === 502 || reply.error !== undefined).toBe(true);
    expect(existsSync(join(mirror.dataDir, 'cache/docs/leaf-1.0.0.tar.gz'))).toBe(false);
  });
});

describe('offline mode (UPSTREAM_ENABLED=false)', () => {
  it('serves everything cached and answers the rest plainly, without touching the network', async () => {
    await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    await useMirror({ UPSTREAM_ENABLED: 'false', HEXHUB_REGISTRY_TTL: '0' });
    upstream.resetRequests();
    const record = await httpGet(mirror.url, '/packages/leaf');
    expect(record.status).toBe(200);
    expect(record.headers['x-hexhub-cache']).toBe('STALE');
    expect(String(record.headers['x-hexhub-stale'])).toMatch(/offline/);
    expect((await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar')).status).toBe(200);
    const missing = await httpGet(mirror.url, '/tarballs/other-0.1.0.tar');
    expect(missing.status).toBe(503);
    expect(missing.body.toString()).toMatch(/offline/);
    expect((await httpGet(mirror.url, '/packages/other')).status).toBe(503);
    expect(upstream.requests.length).toBe(0);
  });
});
