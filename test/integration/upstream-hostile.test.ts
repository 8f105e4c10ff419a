// An upstream that answers in ways meant to hurt the mirror (issue #11): misses whose
// answers are never closed, redirects to other hosts, bodies that trickle forever, docs
// that inflate without end. Each ends in a bounded outcome, and nothing unverified is kept.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src-main/config/config.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet, type Reply } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror;
const others: FakeUpstream[] = [];

async function useMirror(env: Record<string, string>) {
  await mirror.stop();
  mirror = await startMirror(upstream.url, env, mirror.dataDir);
}

function stored(key: string): boolean {
  return mirror.engine.index.get(key) !== undefined || existsSync(join(mirror.dataDir, 'cache', key));
}

async function metric(name: string, labels: string): Promise<number> {
  const text = (await httpGet(mirror.url, '/metrics')).body.toString();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** Runs `count` requests, `concurrency` at a time; resolves with every reply. */
async function many(count: number, concurrency: number, path: (i: number) => string): Promise<Reply[]> {
  const replies: Reply[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        replies[i] = await httpGet(mirror.url, path(i));
      }
    }),
  );
  return replies;
}

beforeEach(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'leaf', version: '1.0.0' });
  await repo.publish({ name: 'other', version: '0.1.0' });
  upstream = await startFakeUpstream(repo);
  mirror = await startMirror(upstream.url);
});

afterEach(async () => {
  await mirror.stop();
  // Whatever the upstream did, nothing partial is left and everything indexed verifies.
  expect(await readdir(join(mirror.dataDir, 'tmp'))).toEqual([]);
  expect((await mirror.engine.admin.verify()).problems).toEqual([]);
  await Promise.all([upstream.close(), ...others.splice(0).map((o) => o.close())]);
  await removeDir(mirror.dataDir);
});

describe.runIf(existsSync('/proc/self/fd'))('upstream answers that are never read', () => {
  it('closes the upstream response of every miss answered 404 or 403: 2000 misses leave the descriptor count where it was', async () => {
    // A long timeout, so that a leaked response would hold its socket for the whole test
    // instead of being closed by a timer.
    await useMirror({ UPSTREAM_TIMEOUT: '60000' });
    const openDescriptors = () => readdirSync('/proc/self/fd').length;
    expect((await httpGet(mirror.url, '/docs/warmup-1.0.0.tar.gz')).status).toBe(404);
    const before = openDescriptors();

    upstream.fault.status(404, { path: '/docs/lost' });
    // Half answered 404 by the fault, half 403 (the fake's S3-style "AccessDenied" for unknown objects).
    const replies = await many(2000, 50, (i) => `/docs/${i % 2 ? 'lost' : 'gone'}${i}-1.0.0.tar.gz`);
    expect(replies.filter((r) => r.status !== 404).map((r) => `${r.status} ${r.error ?? ''}`)).toEqual([]);
    expect(upstream.countRequests('/docs/lost')).toBe(1000);

    // Sockets close asynchronously: wait (bounded, and well inside any keep-alive or socket
    // timeout that would close a leaked one) for the count to come back down.
    const bound = before + 64;
    for (let i = 0; i < 40 && openDescriptors() > bound; i++) await sleep(50);
    expect(openDescriptors()).toBeLessThanOrEqual(bound);

    const tarball = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(tarball.status).toBe(200);
    expect(sha256(tarball.body)).toBe(repo.release('leaf', '1.0.0')!.outerChecksum);
  });
});

describe('upstream redirects', () => {
  it('does not follow a redirect to another origin for /installs, /api, /tarballs and /docs: 502, nothing asked of it, nothing stored', async () => {
    const elsewhere = await startFakeUpstream(repo);
    others.push(elsewhere);
    await repo.publishDocs('leaf', '1.0.0');
    upstream.fault.status(302, { path: /^\/(installs|api|tarballs|docs)\//, headers: { location: `${elsewhere.url}/installs/hex.csv` } });
    const cases = [
      { path: '/installs/hex.csv', key: 'installs/hex.csv' },
      { path: '/api/packages/leaf', key: 'api/json/packages/leaf/index' },
      { path: '/tarballs/leaf-1.0.0.tar', key: 'tarballs/leaf-1.0.0.tar' },
      { path: '/docs/leaf-1.0.0.tar.gz', key: 'docs/leaf-1.0.0.tar.gz' },
    ];
    for (const { path, key } of cases) {
      const reply = await httpGet(mirror.url, path);
      expect(reply.status, path).toBe(502);
      expect(reply.body.toString(), path).toMatch(new RegExp(`upstream redirected to another origin \\(${elsewhere.url}/installs/hex.csv\\); not followed`));
      expect(stored(key), key).toBe(false);
    }
    expect(elsewhere.requests).toEqual([]);
    expect(await metric('hexhub_upstream_redirects_total', 'kind="installs",outcome="refused"')).toBe(1);
    expect(mirror.logs.some((l) => l.event === 'upstream_redirect' && l.outcome === 'refused' && l.to === `${elsewhere.url}/installs/hex.csv`)).toBe(true);

    // Once the upstream answers normally, the same paths are fetched and kept.
    upstream.fault.clear();
    expect((await httpGet(mirror.url, '/installs/hex.csv')).status).toBe(200);
    expect(stored('installs/hex.csv')).toBe(true);
  });

  it('follows a same-origin redirect (counted) and gives up on a redirect loop', async () => {
    const release = repo.release('leaf', '1.0.0')!;
    upstream.fault.status(302, { path: '/tarballs/leaf', times: 1, headers: { location: '/tarballs/leaf-1.0.0.tar' } });
    const tarball = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(tarball.status).toBe(200);
    expect(tarball.body.equals(release.bytes)).toBe(true);
    expect(upstream.countRequests('/tarballs/leaf-1.0.0.tar')).toBe(2);
    expect(await metric('hexhub_upstream_redirects_total', 'kind="tarball",outcome="followed"')).toBe(1);
    expect(mirror.logs.some((l) => l.event === 'upstream_redirect' && l.outcome === 'followed' && l.kind === 'tarball')).toBe(true);

    upstream.fault.status(302, { path: '/installs/hex.csv', headers: { location: `${upstream.url}/installs/hex.csv` } });
    const loop = await httpGet(mirror.url, '/installs/hex.csv');
    expect(loop.status).toBe(502);
    expect(loop.body.toString()).toMatch(/redirected more than 2 times/);
    expect(upstream.countRequests('/installs/hex.csv')).toBe(3);
    expect(stored('installs/hex.csv')).toBe(false);
  });
});

describe('upstream bodies below the minimum rate', () => {
  // One byte a second: no pause reaches UPSTREAM_TIMEOUT (2 s here), so no timeout of the
  // connection ever fires, and only an overall deadline ends it.
  const ONE_BYTE_A_SECOND = { rate: 1, timeout: '2000' };
  // 20 bytes/s (a byte every 50 ms), for the tests that compare floors.
  const TRICKLE = 20;

  it('serves the stored registry record once a 1 byte/s revalidation passes its deadline, and later requests do not hang', async () => {
    // A revalidation budget past the deadline, so that it is the deadline that ends the wait here.
    await useMirror({ UPSTREAM_TIMEOUT: ONE_BYTE_A_SECOND.timeout, HEXHUB_REGISTRY_TTL: '0', HEXHUB_REVALIDATE_BUDGET: '20000' });
    const fresh = await httpGet(mirror.url, '/packages/leaf');
    expect(fresh.status).toBe(200);
    // A new release, so the revalidation gets a whole new body rather than a 304.
    await repo.publish({ name: 'leaf', version: '1.1.0' });
    upstream.fault.bytesPerSecond(ONE_BYTE_A_SECOND.rate, { path: '/packages/leaf' });

    const [first, joined] = await Promise.all([httpGet(mirror.url, '/packages/leaf'), httpGet(mirror.url, '/packages/leaf')]);
    for (const reply of [first, joined]) {
      expect(reply.status).toBe(200);
      expect(reply.headers['x-hexhub-cache']).toBe('STALE');
      expect(String(reply.headers['x-hexhub-stale'])).toMatch(/too slow.*minimum/);
      expect(reply.body.equals(fresh.body)).toBe(true);
    }
    const later = await httpGet(mirror.url, '/packages/leaf');
    expect(later.headers['x-hexhub-cache']).toBe('STALE');
    expect(await metric('hexhub_upstream_errors_total', 'kind="registry",reason="too_slow"')).toBeGreaterThanOrEqual(2);

    upstream.fault.clear();
    const recovered = await httpGet(mirror.url, '/packages/leaf');
    expect(recovered.headers['x-hexhub-cache']).toBe('REVALIDATED');
    expect(recovered.body.equals(repo.packageBody('leaf')!)).toBe(true);
  });

  it('ends a cold tarball trickling at 1 byte/s: waiters get a 504, the first client is cut off, nothing is stored', async () => {
    await useMirror({ UPSTREAM_TIMEOUT: ONE_BYTE_A_SECOND.timeout });
    const release = repo.release('leaf', '1.0.0')!;
    upstream.fault.bytesPerSecond(ONE_BYTE_A_SECOND.rate, { path: '/tarballs/' });
    // Headers held back a little, so that every client asks before the transfer starts.
    upstream.fault.latencyMs(300, { path: '/tarballs/' });
    const replies = await Promise.all(Array.from({ length: 3 }, () => httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar')));

    const waiters = replies.filter((r) => r.status === 504);
    expect(waiters.length).toBe(2);
    expect(waiters[0]!.body.toString()).toMatch(/too slow.*minimum/);
    // The first client had its headers (the checksum is known up front), so it is cut off, never served a whole body.
    const streamed = replies.find((r) => r.status !== 504)!;
    expect(streamed.error).toBeDefined();
    expect(streamed.body.length).toBeLessThan(release.bytes.length);
    expect(stored('tarballs/leaf-1.0.0.tar')).toBe(false);
    // Not resumed: a slow body is not a broken one, and resuming would only restart the clock.
    expect(upstream.countRequests('/tarballs/leaf-1.0.0.tar')).toBe(1);

    upstream.fault.clear();
    const later = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(later.status).toBe(200);
    expect(later.body.equals(release.bytes)).toBe(true);
  });

  it('takes the floor from UPSTREAM_MIN_RATE: the same trickle fails the default and passes a lower floor', async () => {
    const csv = Buffer.from('2.1.1,checksum,1.18.0\n');
    upstream.setFile('/installs/tiny.csv', csv);
    upstream.fault.bytesPerSecond(TRICKLE, { path: '/installs/tiny.csv' });
    await useMirror({ UPSTREAM_TIMEOUT: '400' });
    const refused = await httpGet(mirror.url, '/installs/tiny.csv');
    expect(refused.status).toBe(504);
    expect(refused.body.toString()).toMatch(/too slow.*minimum of 1024 bytes\/s \(UPSTREAM_MIN_RATE\)/);
    expect(stored('installs/tiny.csv')).toBe(false);

    await useMirror({ UPSTREAM_TIMEOUT: '400', UPSTREAM_MIN_RATE: String(TRICKLE / 2) });
    const served = await httpGet(mirror.url, '/installs/tiny.csv');
    expect(served.status).toBe(200);
    expect(served.body.equals(csv)).toBe(true);

    expect(loadConfig({}).upstream.minBytesPerSecond).toBe(1024);
    expect(() => loadConfig({ UPSTREAM_MIN_RATE: '0' })).toThrow(/UPSTREAM_MIN_RATE: must be between 1 and/);
    expect(() => loadConfig({ UPSTREAM_MIN_RATE: '1K' })).toThrow(/UPSTREAM_MIN_RATE: expected a whole number/);
  });
});

describe('docs bombs', () => {
  /** A gzip stream of `inflated` zero bytes: about a thousandth of that compressed. */
  async function gzipOfZeros(inflated: number): Promise<Buffer> {
    const gzip = createGzip({ level: 9 });
    const out: Buffer[] = [];
    gzip.on('data', (chunk: Buffer) => out.push(chunk));
    const block = Buffer.alloc(1024 * 1024);
    for (let written = 0; written < inflated; written += block.length) {
      if (!gzip.write(block)) await new Promise((resolve) => gzip.once('drain', resolve));
    }
    gzip.end();
    await new Promise((resolve) => gzip.once('end', resolve));
    return Buffer.concat(out);
  }

  it('refuses docs that inflate far beyond their size with a 502 before reading them whole, and stores nothing', async () => {
    const bomb = await gzipOfZeros(256 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(512 * 1024);
    upstream.setFile('/docs/bomb-1.0.0.tar.gz', bomb);
    upstream.fault.latencyMs(300, { path: '/docs/' });
    const replies = await Promise.all(Array.from({ length: 3 }, () => httpGet(mirror.url, '/docs/bomb-1.0.0.tar.gz')));

    // Refused before any of it went out: every client gets the 502 with the reason.
    const refused = replies.filter((r) => r.status === 502);
    expect(refused.length).toBe(3);
    for (const reply of refused)
      expect(reply.body.toString()).toMatch(/refused upstream docs\/bomb-1\.0\.0\.tar\.gz: expands beyond 100 times its compressed size/);
    expect(stored('docs/bomb-1.0.0.tar.gz')).toBe(false);
    // Refused as soon as the bound was passed, not after inflating the whole body.
    expect(await metric('hexhub_upstream_bytes_total', 'kind="docs"')).toBeLessThan(bomb.length);
    expect(await metric('hexhub_verification_failures_total', 'kind="docs",reason="gzip_bomb"')).toBe(1);

    // Real docs still pass.
    await repo.publishDocs('leaf', '1.0.0');
    const docs = await httpGet(mirror.url, '/docs/leaf-1.0.0.tar.gz');
    expect(docs.status).toBe(200);
    expect(docs.body.equals(repo.docs('leaf', '1.0.0')!)).toBe(true);
    expect(stored('docs/leaf-1.0.0.tar.gz')).toBe(true);
  });
});
