// The repository protocol through the real engine against a fake hex.pm on loopback:
// what clients get, what the upstream sees, and what ends up on disk.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodePackage, openSigned, loadPublicKey } from '../../src-main/hex/registry.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo, testKeys } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { readIndexEntries } from '../support/index-file.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror;

beforeEach(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'leaf', version: '1.0.0' });
  await repo.publish({ name: 'leaf', version: '1.1.0-rc.1+build.7' });
  await repo.publish({ name: 'app', version: '2.0.0', deps: [{ name: 'leaf', requirement: '~> 1.0' }] });
  await repo.publishDocs('leaf', '1.0.0');
  upstream = await startFakeUpstream(repo);
  mirror = await startMirror(upstream.url);
});

afterEach(async () => {
  await mirror.stop();
  await upstream.close();
  await removeDir(mirror.dataDir);
});

describe('registry resources', () => {
  it('serves /packages/NAME byte for byte, verified, with an ETag and no Content-Encoding', async () => {
    const reply = await httpGet(mirror.url, '/packages/leaf');
    expect(reply.status).toBe(200);
    expect(reply.body.equals(repo.packageBody('leaf')!)).toBe(true);
    expect(reply.headers['content-encoding']).toBeUndefined();
    expect(reply.headers.etag).toBe(`"${sha256(reply.body)}"`);
    expect(reply.headers['cache-control']).toMatch(/max-age=\d+/);
    expect(reply.headers['x-hexhub-cache']).toBe('MISS');
    // What a client would do with it: verify and decode.
    const record = decodePackage(await openSigned(reply.body, loadPublicKey(testKeys().publicKeyPem)));
    expect(record.releases.map((r) => r.version)).toEqual(['1.0.0', '1.1.0-rc.1+build.7']);
    // Stored on disk exactly as served.
    expect((await readFile(join(mirror.dataDir, 'cache/registry/packages/leaf'))).equals(reply.body)).toBe(true);
  });

  it("keeps the upstream's Last-Modified on records, tarballs and docs, cold and warm", async () => {
    for (const path of ['/packages/leaf', '/names', '/tarballs/leaf-1.0.0.tar', '/docs/leaf-1.0.0.tar.gz']) {
      const direct = await httpGet(upstream.url, path);
      expect(direct.headers['last-modified'], path).toMatch(/ GMT$/);
      for (const state of ['MISS', 'HIT']) {
        const reply = await httpGet(mirror.url, path);
        expect(reply.headers['x-hexhub-cache'], path).toBe(state);
        expect(reply.headers['last-modified'], `${path} ${state}`).toBe(direct.headers['last-modified']);
      }
    }
  });

  it('answers repeat requests from the cache, and If-None-Match with 304', async () => {
    const first = await httpGet(mirror.url, '/packages/leaf');
    const second = await httpGet(mirror.url, '/packages/leaf');
    expect(second.headers['x-hexhub-cache']).toBe('HIT');
    expect(second.body.equals(first.body)).toBe(true);
    expect(upstream.countRequests('/packages/leaf')).toBe(1);
    const conditional = await httpGet(mirror.url, '/packages/leaf', { headers: { 'if-none-match': String(first.headers.etag) } });
    expect(conditional.status).toBe(304);
    expect(conditional.body.length).toBe(0);
    expect(conditional.headers.etag).toBe(first.headers.etag);
  });

  it('revalidates with a conditional request once the TTL has passed, and picks up changes', async () => {
    await mirror.stop();
    mirror = await startMirror(upstream.url, { HEXHUB_REGISTRY_TTL: '0' }, mirror.dataDir);
    const first = await httpGet(mirror.url, '/packages/leaf');
    expect(first.status).toBe(200);
    const second = await httpGet(mirror.url, '/packages/leaf');
    expect(second.headers['x-hexhub-cache']).toBe('REVALIDATED');
    const conditional = upstream.requests.filter((r) => r.path === '/packages/leaf')[1]!;
    expect(conditional.headers['if-none-match']).toBeTruthy();
    expect(conditional.status).toBe(304);

    await repo.publish({ name: 'leaf', version: '1.2.0' });
    const third = await httpGet(mirror.url, '/packages/leaf');
    expect(third.body.equals(repo.packageBody('leaf')!)).toBe(true);
    expect(third.headers.etag).not.toBe(first.headers.etag);
  });

  it('serves /names and /versions verified against the repository name', async () => {
    for (const path of ['/names', '/versions']) {
      const reply = await httpGet(mirror.url, path);
      expect(reply.status).toBe(200);
      expect(reply.body.equals(path === '/names' ? repo.namesBody() : repo.versionsBody())).toBe(true);
    }
  });

  it('collapses duplicate slashes (HEX_MIRROR with a trailing slash)', async () => {
    const reply = await httpGet(mirror.url, '//packages//leaf');
    expect(reply.status).toBe(200);
    expect(reply.body.equals(repo.packageBody('leaf')!)).toBe(true);
  });

  it('turns the upstream 403 for a missing package into a 404 and stores nothing', async () => {
    const reply = await httpGet(mirror.url, '/packages/nosuchpkg');
    expect(reply.status).toBe(404);
    expect(reply.body.toString()).toMatch(/does not exist/);
    expect(upstream.requests.find((r) => r.path === '/packages/nosuchpkg')?.status).toBe(403);
    expect(existsSync(join(mirror.dataDir, 'cache/registry/packages/nosuchpkg'))).toBe(false);
  });

  it('answers HEAD with headers only', async () => {
    const reply = await httpGet(mirror.url, '/packages/leaf', { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(0);
    expect(Number(reply.headers['content-length'])).toBe(repo.packageBody('leaf')!.length);
  });
});

describe('tarballs', () => {
  it('streams a cold tarball, verified against the registry checksum, and keeps it', async () => {
    const release = repo.release('leaf', '1.0.0')!;
    const reply = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(reply.status).toBe(200);
    expect(reply.error).toBeUndefined();
    expect(reply.body.equals(release.bytes)).toBe(true);
    expect(reply.headers.etag).toBe(`"${release.outerChecksum}"`);
    expect(reply.headers['content-encoding']).toBeUndefined();
    expect(Number(reply.headers['content-length'])).toBe(release.bytes.length);
    const stored = await readFile(join(mirror.dataDir, 'cache/tarballs/leaf-1.0.0.tar'));
    expect(sha256(stored)).toBe(release.outerChecksum);

    const warm = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(warm.headers['x-hexhub-cache']).toBe('HIT');
    expect(warm.body.equals(release.bytes)).toBe(true);
    expect(upstream.countRequests('/tarballs/')).toBe(1);
    const conditional = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar', { headers: { 'if-none-match': String(reply.headers.etag) } });
    expect(conditional.status).toBe(304);
  });

  it('handles versions with pre-release and build parts (a literal + in the path)', async () => {
    const release = repo.release('leaf', '1.1.0-rc.1+build.7')!;
    const reply = await httpGet(mirror.url, '/tarballs/leaf-1.1.0-rc.1+build.7.tar');
    expect(reply.status).toBe(200);
    expect(reply.body.equals(release.bytes)).toBe(true);
  });

  it('makes exactly one upstream request for many concurrent misses', async () => {
    upstream.fault.latencyMs(150, { path: '/tarballs/' });
    const release = repo.release('app', '2.0.0')!;
    const replies = await Promise.all(Array.from({ length: 25 }, () => httpGet(mirror.url, '/tarballs/app-2.0.0.tar')));
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.body.equals(release.bytes)).toBe(true);
    }
    expect(upstream.countRequests('/tarballs/app-2.0.0.tar')).toBe(1);
    expect(upstream.countRequests('/packages/app')).toBe(1);
  });

  it('404s an unknown release without asking for the tarball, once the record is stored', async () => {
    expect((await httpGet(mirror.url, '/packages/leaf')).status).toBe(200);
    const reply = await httpGet(mirror.url, '/tarballs/leaf-9.9.9.tar');
    expect(reply.status).toBe(404);
    expect(reply.body.toString()).toMatch(/no release 9\.9\.9/);
    expect(upstream.countRequests('/tarballs/')).toBe(0);
    // The stored record was refreshed once before giving up (it may have just been published).
    expect(upstream.countRequests('/packages/leaf')).toBe(2);
  });

  it('with a cold registry asks for the record and the tarball at once, and serves nothing before the record vouches for it', async () => {
    // The record is slow: a tarball request that waited for it would only start once it is in.
    upstream.fault.latencyMs(1500, { path: '/packages/leaf' });
    const pending = httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    let recordPendingWhenTarballAsked: boolean | undefined;
    for (let i = 0; i < 200 && recordPendingWhenTarballAsked === undefined; i++) {
      if (upstream.countRequests('/tarballs/leaf-1.0.0.tar') > 0)
        recordPendingWhenTarballAsked = upstream.requests.find((r) => r.path === '/packages/leaf')?.status === 0;
      else await new Promise((r) => setTimeout(r, 10));
    }
    expect(recordPendingWhenTarballAsked).toBe(true);
    const reply = await pending;
    expect(reply.status).toBe(200);
    expect(reply.headers['x-hexhub-cache']).toBe('MISS');
    expect(reply.headers.etag).toBe(`"${repo.release('leaf', '1.0.0')!.outerChecksum}"`);
    expect(reply.body.equals(repo.release('leaf', '1.0.0')!.bytes)).toBe(true);
    upstream.fault.clear();

    // A tampered tarball fetched alongside its record is refused with the reason, never served.
    upstream.fault.corruptTarball({ path: '/tarballs/leaf-1.1.0-rc.1' });
    await mirror.engine.control.deletePackage('leaf');
    const refused = await httpGet(mirror.url, '/tarballs/leaf-1.1.0-rc.1+build.7.tar');
    expect(refused.status).toBe(502);
    expect(refused.body.toString()).toMatch(/does not match the registry checksum/);
    // An unknown release with a cold registry: the tarball was asked for alongside, and the answer is the same 404.
    await mirror.engine.control.deletePackage('leaf');
    expect((await httpGet(mirror.url, '/tarballs/leaf-9.9.9.tar')).status).toBe(404);
  });

  it('picks up a release published after the record was cached (refresh once on unknown release)', async () => {
    await httpGet(mirror.url, '/packages/leaf');
    await repo.publish({ name: 'leaf', version: '1.3.0' });
    const reply = await httpGet(mirror.url, '/tarballs/leaf-1.3.0.tar');
    expect(reply.status).toBe(200);
    expect(reply.body.equals(repo.release('leaf', '1.3.0')!.bytes)).toBe(true);
    expect(upstream.countRequests('/packages/leaf')).toBe(2);
  });

  it('re-fetches a tarball whose release was replaced upstream (edit window)', async () => {
    const before = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(before.status).toBe(200);
    const replaced = await repo.replace({ name: 'leaf', version: '1.0.0', description: 'replaced' });
    expect(replaced.outerChecksum).not.toBe(sha256(before.body));
    // The cached tarball still matches the cached record, so it is served as is...
    expect((await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar')).body.equals(before.body)).toBe(true);
    // ...until the record is refreshed (as a client's /packages request after the TTL would):
    await mirror.stop();
    mirror = await startMirror(upstream.url, { HEXHUB_REGISTRY_TTL: '0' }, mirror.dataDir);
    expect((await httpGet(mirror.url, '/packages/leaf')).body.equals(repo.packageBody('leaf')!)).toBe(true);
    const after = await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(after.status).toBe(200);
    expect(after.body.equals(replaced.bytes)).toBe(true);
    expect(after.headers.etag).toBe(`"${replaced.outerChecksum}"`);
  });

  it('refuses names that are not Hex names, and never reads outside the cache', async () => {
    for (const path of [
      '/tarballs/..%2F..%2Findex.jsonl',
      '/tarballs/../index.jsonl',
      '/tarballs/Leaf-1.0.0.tar',
      '/tarballs/leaf-1.0.tar',
      '/tarballs/leaf-1.0.0.tar%00',
      '/packages/..',
      '/packages/%2e%2e',
      '/docs/leaf-1.0.0.tar',
      `/packages/${'a'.repeat(400)}`,
      '/installs/../../index.jsonl',
      '/installs/.hidden',
    ]) {
      const reply = await httpGet(mirror.url, path);
      expect([400, 404], path).toContain(reply.status);
    }
    expect(upstream.requests.length).toBe(0);
  });
});

describe('docs, public key, installs and the HTTP API', () => {
  it('serves docs verbatim (a .tar.gz without Content-Encoding) and keeps them', async () => {
    const reply = await httpGet(mirror.url, '/docs/leaf-1.0.0.tar.gz');
    expect(reply.status).toBe(200);
    expect(reply.body.equals(repo.docs('leaf', '1.0.0')!)).toBe(true);
    expect(reply.headers['content-encoding']).toBeUndefined();
    expect(gunzipSync(reply.body).length).toBeGreaterThan(0);
    expect((await httpGet(mirror.url, '/docs/leaf-1.0.0.tar.gz')).headers['x-hexhub-cache']).toBe('HIT');
    expect(upstream.countRequests('/docs/')).toBe(1);
    expect((await httpGet(mirror.url, '/docs/leaf-1.1.0.tar.gz')).status).toBe(404);
  });

  it('serves /public_key and /installs/… from their upstreams', async () => {
    const key = await httpGet(mirror.url, '/public_key');
    expect(key.status).toBe(200);
    expect(key.body.toString()).toContain('BEGIN PUBLIC KEY');
    upstream.setFile('/installs/hex-1.x.csv', '2.0.0,abc,1.14.0\n', 'text/csv');
    const csv = await httpGet(mirror.url, '/installs/hex-1.x.csv');
    expect(csv.status).toBe(200);
    expect(csv.body.toString()).toBe('2.0.0,abc,1.14.0\n');
    expect((await httpGet(mirror.url, '/installs/nothing-here.csv')).status).toBe(404);
  });

  it('proxies /api/packages with content negotiation, cached per type', async () => {
    const json = await httpGet(mirror.url, '/api/packages/leaf', { headers: { accept: 'application/json' } });
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toContain('application/json');
    expect((JSON.parse(json.body.toString()) as { name: string }).name).toBe('leaf');
    const erlang = await httpGet(mirror.url, '/api/packages/leaf', { headers: { accept: 'application/vnd.hex+erlang' } });
    expect(erlang.headers['content-type']).toContain('application/vnd.hex+erlang');
    expect(erlang.body[0]).toBe(131); // Erlang external term format
    const release = await httpGet(mirror.url, '/api/packages/leaf/releases/1.0.0', { headers: { accept: 'application/json' } });
    expect((JSON.parse(release.body.toString()) as { checksum: string }).checksum).toBe(repo.release('leaf', '1.0.0')!.outerChecksum);
    expect((await httpGet(mirror.url, '/api/packages/leaf', { headers: { accept: 'application/json' } })).headers['x-hexhub-cache']).toBe('HIT');
    expect(upstream.countRequests(/^\/api\/packages\/leaf$/)).toBe(2);
    expect((await httpGet(mirror.url, '/api/packages/nosuchpkg')).status).toBe(404);
  });

  it('keeps the original HexHub download endpoints working through the same cache', async () => {
    const tarball = await httpGet(mirror.url, '/api/packages/leaf/releases/1.0.0/download');
    expect(tarball.status).toBe(200);
    expect(tarball.body.equals(repo.release('leaf', '1.0.0')!.bytes)).toBe(true);
    expect((await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar')).headers['x-hexhub-cache']).toBe('HIT');
    const docs = await httpGet(mirror.url, '/api/packages/leaf/releases/1.0.0/docs/download');
    expect(docs.body.equals(repo.docs('leaf', '1.0.0')!)).toBe(true);
  });

  it('answers /repos/… (private organizations) with 404 and never forwards it', async () => {
    expect((await httpGet(mirror.url, '/repos/acme/packages/secret')).status).toBe(404);
    expect(upstream.requests.length).toBe(0);
  });

  it('exposes Prometheus metrics, warm hits answered before routing included', async () => {
    await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    // Warm hits (X-HexHub-Cache HIT from memory) are counted apart and added when read.
    for (let i = 0; i < 2; i++) expect((await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar')).headers['x-hexhub-cache']).toBe('HIT');
    const metrics = (await httpGet(mirror.url, '/metrics')).body.toString();
    expect(metrics).toMatch(/hexhub_cache_hits_total\{kind="tarball"\} 2$/m);
    expect(metrics).toMatch(/hexhub_cache_misses_total\{kind="tarball"\} 1$/m);
    expect(metrics).toMatch(/hexhub_upstream_latency_seconds_bucket/);
    const size = repo.release('leaf', '1.0.0')!.bytes.length;
    expect(metrics).toMatch(new RegExp(`^hexhub_bytes_served_total\\{kind="tarball"\\} ${3 * size}$`, 'm'));
  });
});

describe('the index', () => {
  it('records what is cached, and is written in batches that survive a restart', async () => {
    await httpGet(mirror.url, '/tarballs/leaf-1.0.0.tar');
    await mirror.stop();
    const entries = await readIndexEntries(mirror.dataDir);
    expect(entries['tarballs/leaf-1.0.0.tar']?.sha256).toBe(repo.release('leaf', '1.0.0')!.outerChecksum);
    expect(entries['registry/packages/leaf']?.kind).toBe('registry');
    expect(await readdir(join(mirror.dataDir, 'tmp'))).toEqual([]);
  });
});
