import { createHash, createVerify } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadPublicKey, RegistryError, verifyRegistryBody } from '../../src-main/hex/registry.js';
import { readTarball } from '../../src-main/hex/tarball.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo, listTar, testKeys } from '../support/hex-fixtures.js';

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Set when the connection died after the headers. */
  error?: NodeJS.ErrnoException;
  ms: number;
}

/** Plain node:http GET that reports partial bodies instead of hiding them. */
function fetchRaw(url: string, opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<RawResponse> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (error?: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: Date.now() - started, ...(error ? { error } : {}) });
      };
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish(res.complete ? undefined : Object.assign(new Error('incomplete body'), { code: 'INCOMPLETE' })));
      res.on('error', (e) => finish(e));
      res.on('aborted', () => finish(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    });
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const key = () => loadPublicKey(testKeys().publicKeyPem);

async function errorCode(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    return error instanceof RegistryError ? error.code : `not a RegistryError: ${String(error)}`;
  }
  return 'no error';
}

describe('fake upstream', () => {
  const repo = new FixtureRepo();
  let up: FakeUpstream;

  beforeAll(async () => {
    await repo.publish({ name: 'bar', version: '1.0.0' });
    await repo.publish({ name: 'bar', version: '1.1.0' }, { retired: { reason: 'deprecated', message: 'use 1.2' } });
    await repo.publish({ name: 'foo', version: '2.0.0-rc.1+build.5', deps: [{ name: 'bar', requirement: '~> 1.0' }] });
    await repo.publish({ name: 'nodocs', version: '0.1.0' }, { docs: false });
    up = await startFakeUpstream(repo);
  });

  afterEach(() => {
    up.fault.clear();
    up.resetRequests();
  });

  afterAll(async () => {
    await up.close();
  });

  describe('repository', () => {
    it('serves registry resources like repo.hex.pm', async () => {
      for (const [path, expect_] of [
        ['/names', { kind: 'names', repository: 'hexpm' }],
        ['/versions', { kind: 'versions', repository: 'hexpm' }],
        ['/packages/foo', { kind: 'package', repository: 'hexpm', packageName: 'foo' }],
      ] as const) {
        const res = await fetchRaw(up.url + path);
        expect(res.status, path).toBe(200);
        expect(res.headers['content-type']).toBe('application/octet-stream');
        expect(res.headers['cache-control']).toBe('public, max-age=3600');
        expect(res.headers['content-encoding']).toBeUndefined();
        expect(res.headers.etag).toBe(`"${md5(res.body)}"`);
        expect(res.headers['last-modified']).toMatch(/GMT$/);
        expect(Number(res.headers['content-length'])).toBe(res.body.length);
        expect(res.body.subarray(0, 2).toString('hex')).toBe('1f8b'); // gzip body, sent as identity
        const verified = await verifyRegistryBody(res.body, key(), expect_);
        expect(verified.kind).toBe(expect_.kind);
      }
      const pkg = await verifyRegistryBody((await fetchRaw(`${up.url}/packages/foo`)).body, key(), {
        kind: 'package',
        repository: 'hexpm',
        packageName: 'foo',
      });
      if (pkg.kind !== 'package') throw new Error('expected package');
      expect(pkg.record.releases[0]!.outerChecksum).toBe(repo.release('foo', '2.0.0-rc.1+build.5')!.outerChecksum);
    });

    it('serves tarballs (literal and encoded +), docs and the public key', async () => {
      const release = repo.release('foo', '2.0.0-rc.1+build.5')!;
      const tarball = await fetchRaw(`${up.url}/tarballs/foo-2.0.0-rc.1+build.5.tar`);
      expect(tarball.status).toBe(200);
      expect(tarball.headers['cache-control']).toBe('public, max-age=604800');
      expect(tarball.headers.etag).toBe(`"${md5(release.bytes)}"`);
      expect(sha256(tarball.body)).toBe(release.outerChecksum);
      const encoded = await fetchRaw(`${up.url}/tarballs/foo-2.0.0-rc.1%2Bbuild.5.tar`);
      expect(encoded.body.equals(release.bytes)).toBe(true);

      const docs = await fetchRaw(`${up.url}/docs/bar-1.0.0.tar.gz`);
      expect(docs.status).toBe(200);
      expect(docs.headers['cache-control']).toBe('public, max-age=86400');
      expect(docs.headers['content-encoding']).toBeUndefined();
      expect((await listTar(docs.body)).get('index.html')!.toString()).toContain('<h1>bar v1.0.0</h1>');

      const pem = await fetchRaw(`${up.url}/public_key`);
      expect(pem.status).toBe(200);
      expect(pem.body.toString()).toBe(testKeys().publicKeyPem);
    });

    it('serves /installs CSVs, signatures and binaries that agree with each other', async () => {
      const csv = await fetchRaw(`${up.url}/installs/hex-1.x.csv`);
      expect(csv.status).toBe(200);
      expect(csv.headers['content-type']).toBe('text/csv');
      expect(csv.headers['cache-control']).toBe('public, max-age=604800');
      const [version, digest, elixir] = csv.body.toString().trim().split(',');
      const signed = await fetchRaw(`${up.url}/installs/hex-1.x.csv.signed`);
      const ok = createVerify('sha512').update(csv.body).verify(testKeys().publicKeyPem, Buffer.from(signed.body.toString(), 'base64'));
      expect(ok).toBe(true);
      const ez = await fetchRaw(`${up.url}/installs/${elixir}/hex-${version}.ez`);
      expect(ez.status).toBe(200);
      expect(createHash('sha512').update(ez.body).digest('hex')).toBe(digest);

      up.setFile('/installs/hex.csv', '9.9.9,abc,1.19.0,27\n');
      expect((await fetchRaw(`${up.url}/installs/hex.csv`)).body.toString()).toBe('9.9.9,abc,1.19.0,27\n');
      up.deleteFile('/installs/hex.csv');
      expect((await fetchRaw(`${up.url}/installs/hex.csv`)).status).toBe(403);
    });

    it('answers 403 AccessDenied XML for anything unknown', async () => {
      for (const path of [
        '/packages/nope',
        '/tarballs/bar-9.9.9.tar',
        '/tarballs/nope-1.0.0.tar',
        '/docs/nodocs-0.1.0.tar.gz',
        '/',
        '/registry.ets.gz',
        '/repos/acme/packages/bar',
        '/installs/nope.csv',
      ]) {
        const res = await fetchRaw(up.url + path);
        expect(res.status, path).toBe(403);
        expect(res.headers['content-type']).toBe('application/xml');
        expect(res.body.toString()).toContain('<Code>AccessDenied</Code>');
        expect(res.headers.etag).toBeUndefined();
      }
    });

    it('honours If-None-Match with 304, and the ETag follows the bytes', async () => {
      const first = await fetchRaw(`${up.url}/packages/bar`);
      const etag = first.headers.etag as string;
      const again = await fetchRaw(`${up.url}/packages/bar`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(again.body).toHaveLength(0);
      expect(again.headers.etag).toBe(etag);
      expect((await fetchRaw(`${up.url}/packages/bar`, { headers: { 'if-none-match': '"0000", ' + etag } })).status).toBe(304);
      expect((await fetchRaw(`${up.url}/packages/bar`, { headers: { 'if-none-match': '"0000"' } })).status).toBe(200);

      const other = new FixtureRepo();
      await other.publish({ name: 'bar', version: '1.0.0' });
      const up2 = await startFakeUpstream(other);
      try {
        const before = await fetchRaw(`${up2.url}/tarballs/bar-1.0.0.tar`);
        await other.replace({ name: 'bar', version: '1.0.0' });
        const after = await fetchRaw(`${up2.url}/tarballs/bar-1.0.0.tar`, { headers: { 'if-none-match': before.headers.etag as string } });
        expect(after.status).toBe(200);
        expect(after.headers.etag).not.toBe(before.headers.etag);
        expect(sha256(after.body)).toBe(other.release('bar', '1.0.0')!.outerChecksum);
      } finally {
        await up2.close();
      }
    });

    it('answers HEAD with headers only', async () => {
      const res = await fetchRaw(`${up.url}/tarballs/bar-1.0.0.tar`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(Number(res.headers['content-length'])).toBe(repo.tarball('bar', '1.0.0')!.length);
      expect(res.body).toHaveLength(0);
    });

    it('records requests', async () => {
      await fetchRaw(`${up.url}/packages/bar`, { headers: { 'user-agent': 'hex_core/0.10.0 (rebar3/3.24.0)' } });
      await fetchRaw(`${up.url}/tarballs/bar-1.0.0.tar?x=1`);
      await fetchRaw(`${up.url}/packages/nope`);
      expect(up.requests.map((r) => [r.method, r.path, r.status])).toEqual([
        ['GET', '/packages/bar', 200],
        ['GET', '/tarballs/bar-1.0.0.tar', 200],
        ['GET', '/packages/nope', 403],
      ]);
      expect(up.requests[0]!.headers['user-agent']).toContain('rebar3');
      expect(up.requests[1]!.url).toBe('/tarballs/bar-1.0.0.tar?x=1');
      expect(up.countRequests('/packages/')).toBe(2);
      expect(up.countRequests(/^\/tarballs\/bar-/)).toBe(1);
      expect(up.countRequests()).toBe(3);
    });
  });

  describe('API', () => {
    it('negotiates JSON and application/vnd.hex+erlang', async () => {
      const json = await fetchRaw(`${up.url}/api/packages/bar`, { headers: { accept: 'application/json' } });
      expect(json.status).toBe(200);
      expect(json.headers['content-type']).toMatch(/^application\/json/);
      const doc = JSON.parse(json.body.toString());
      expect(doc.name).toBe('bar');
      expect(doc.latest_version).toBe('1.1.0');
      expect(doc.releases.map((r: { version: string }) => r.version)).toEqual(['1.1.0', '1.0.0']);
      expect(doc.retirements['1.1.0']).toEqual({ reason: 'deprecated', message: 'use 1.2' });

      const release = JSON.parse((await fetchRaw(`${up.url}/api/packages/foo/releases/2.0.0-rc.1+build.5`)).body.toString());
      expect(release.checksum).toBe(repo.release('foo', '2.0.0-rc.1+build.5')!.outerChecksum);
      expect(release.requirements).toEqual({ bar: { app: 'bar', requirement: '~> 1.0', optional: false } });

      const etf = await fetchRaw(`${up.url}/api/packages/bar`, { headers: { accept: 'application/vnd.hex+erlang' } });
      expect(etf.status).toBe(200);
      expect(etf.headers['content-type']).toContain('application/vnd.hex+erlang');
      expect(etf.body[0]).toBe(131); // external term format
      expect(etf.body[1]).toBe(116); // a map
      expect(etf.body.includes(Buffer.from('latest_stable_version'))).toBe(true);

      const missing = await fetchRaw(`${up.url}/api/packages/nope`, { headers: { accept: 'application/json' } });
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.body.toString())).toEqual({ status: 404, message: 'Page not found' });

      const docs = await fetchRaw(`${up.url}/api/packages/bar/releases/1.0.0/docs`);
      expect(docs.status).toBe(302);
      expect(docs.headers.location).toBe(`${up.url}/docs/bar-1.0.0.tar.gz`);
    });
  });

  describe('faults', () => {
    it('latencyMs delays the headers, scoped by path and times', async () => {
      const fault = up.fault.latencyMs(150, { path: '/tarballs/', times: 1 });
      const fast = await fetchRaw(`${up.url}/packages/bar`);
      expect(fast.ms).toBeLessThan(120);
      const slow = await fetchRaw(`${up.url}/tarballs/bar-1.0.0.tar`);
      expect(slow.ms).toBeGreaterThanOrEqual(145);
      expect(slow.status).toBe(200);
      expect(fault.hits).toBe(1);
      expect(fault.remaining).toBe(0);
      expect((await fetchRaw(`${up.url}/tarballs/bar-1.0.0.tar`)).ms).toBeLessThan(120);
      expect(up.fault.active()).toEqual([]);
    });

    it('status503 fails `times` requests with Retry-After, then recovers', async () => {
      up.fault.status503({ times: 2, retryAfter: 3 });
      const a = await fetchRaw(`${up.url}/packages/bar`);
      const b = await fetchRaw(`${up.url}/packages/bar`);
      const c = await fetchRaw(`${up.url}/packages/bar`);
      expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
      expect(a.headers['retry-after']).toBe('3');
      expect(up.requests.map((r) => r.status)).toEqual([503, 503, 200]);
    });

    it('status(code) answers any status', async () => {
      up.fault.status(500, { path: '/names', body: 'boom' });
      const res = await fetchRaw(`${up.url}/names`);
      expect(res.status).toBe(500);
      expect(res.body.toString()).toBe('boom');
      expect((await fetchRaw(`${up.url}/versions`)).status).toBe(200);
    });

    it('flap alternates 503 and 200', async () => {
      up.fault.flap({ path: '/packages/' });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetchRaw(`${up.url}/packages/bar`)).status);
      expect(statuses).toEqual([503, 200, 503, 200]);
      expect((await fetchRaw(`${up.url}/names`)).status).toBe(200);
    });

    it('down refuses connections until start() brings it back on the same port', async () => {
      const port = up.port;
      await up.fault.down();
      await expect(fetchRaw(`${up.url}/names`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await up.start();
      expect(up.port).toBe(port);
      expect((await fetchRaw(`${up.url}/names`)).status).toBe(200);
    });

    it('stop() also kills in-flight requests', async () => {
      up.fault.hangMs(60_000);
      const pending = fetchRaw(`${up.url}/names`);
      await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      await up.stop();
      expect(Date.now() - started).toBeLessThan(1000);
      await expect(pending).rejects.toMatchObject({ code: 'ECONNRESET' });
      await up.start();
    });

    it('hangMs holds the headers past the client timeout', async () => {
      up.fault.hangMs(5_000, { times: 1 });
      await expect(fetchRaw(`${up.url}/packages/bar`, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      expect((await fetchRaw(`${up.url}/packages/bar`, { timeoutMs: 2000 })).status).toBe(200);
    });

    it('truncate sends the full Content-Length but half the body', async () => {
      const full = repo.tarball('bar', '1.0.0')!;
      up.fault.truncate({ path: '/tarballs/' });
      const res = await fetchRaw(`${up.url}/tarballs/bar-1.0.0.tar`);
      expect(res.status).toBe(200);
      expect(Number(res.headers['content-length'])).toBe(full.length);
      expect(res.body.length).toBe(Math.floor(full.length / 2));
      expect(res.body.equals(full.subarray(0, res.body.length))).toBe(true);
      expect(res.error).toBeDefined();
    });

    it('reset kills the connection mid-body', async () => {
      const full = repo.tarball('bar', '1.0.0')!;
      up.fault.reset({ path: '/tarballs/', afterBytes: 1000 });
      const res = await fetchRaw(`${up.url}/tarballs/bar-1.0.0.tar`);
      expect(res.status).toBe(200);
      expect(res.body.length).toBeLessThanOrEqual(1000);
      expect(res.body.length).toBeLessThan(full.length);
      expect(res.error).toBeDefined();
    });

    it('bytesPerSecond throttles the body', async () => {
      const full = repo.tarball('bar', '1.0.0')!; // a few KiB
      up.fault.bytesPerSecond(full.length * 4); // ~250 ms
      const res = await fetchRaw(`${up.url}/tarballs/bar-1.0.0.tar`);
      expect(res.body.equals(full)).toBe(true);
      expect(res.ms).toBeGreaterThanOrEqual(200);
    });

    it('oversized pads the body (with or without Content-Length)', async () => {
      up.fault.oversized({ path: '/packages/', totalBytes: 200_000, times: 1 });
      const res = await fetchRaw(`${up.url}/packages/bar`);
      expect(res.body.length).toBe(200_000);
      expect(Number(res.headers['content-length'])).toBe(200_000);
      up.fault.oversized({ totalBytes: 300_000, chunked: true, times: 1 });
      const chunked = await fetchRaw(`${up.url}/tarballs/bar-1.0.0.tar`);
      expect(chunked.headers['content-length']).toBeUndefined();
      expect(chunked.headers['transfer-encoding']).toBe('chunked');
      expect(chunked.body.length).toBe(300_000);
      expect(chunked.body.subarray(0, repo.tarball('bar', '1.0.0')!.length).equals(repo.tarball('bar', '1.0.0')!)).toBe(true);
    });

    it('badSignature serves registry records signed by another key', async () => {
      up.fault.badSignature({ path: '/packages/' });
      const pkg = await fetchRaw(`${up.url}/packages/bar`);
      expect(await errorCode(() => verifyRegistryBody(pkg.body, key(), { kind: 'package', repository: 'hexpm', packageName: 'bar' }))).toBe('bad_signature');
      expect(pkg.headers.etag).toBe(`"${md5(pkg.body)}"`);
      // Out of scope: still genuine.
      const names = await fetchRaw(`${up.url}/names`);
      expect((await verifyRegistryBody(names.body, key(), { kind: 'names', repository: 'hexpm' })).kind).toBe('names');
    });

    it('wrongPackage serves another package record at /packages/NAME', async () => {
      const fault = up.fault.wrongPackage({ serve: 'foo' });
      const res = await fetchRaw(`${up.url}/packages/bar`);
      expect(await errorCode(() => verifyRegistryBody(res.body, key(), { kind: 'package', repository: 'hexpm', packageName: 'bar' }))).toBe('bad_package_name');
      // It is foo's genuine record, byte for byte.
      expect(res.body.equals(repo.packageBody('foo')!)).toBe(true);
      expect(fault.hits).toBe(1);
      // Not applicable to other resources: not consumed there.
      await fetchRaw(`${up.url}/names`);
      expect(fault.hits).toBe(1);
    });

    it('wrongRepo serves records for repository "evil"', async () => {
      up.fault.wrongRepo();
      for (const [path, expect_] of [
        ['/names', { kind: 'names', repository: 'hexpm' }],
        ['/versions', { kind: 'versions', repository: 'hexpm' }],
        ['/packages/bar', { kind: 'package', repository: 'hexpm', packageName: 'bar' }],
      ] as const) {
        const res = await fetchRaw(up.url + path);
        expect(await errorCode(() => verifyRegistryBody(res.body, key(), expect_)), path).toBe('bad_repo_name');
      }
    });

    it('corruptTarball flips bytes inside contents.tar.gz, same length', async () => {
      const release = repo.release('bar', '1.0.0')!;
      up.fault.corruptTarball({ times: 1 });
      const res = await fetchRaw(`${up.url}/tarballs/bar-1.0.0.tar`);
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(release.bytes.length);
      expect(sha256(res.body)).not.toBe(release.outerChecksum);
      // Still a well-formed tar: only the checksums can tell.
      const summary = await readTarball(Readable.from([res.body]));
      expect(summary.declaredInnerChecksum.toLowerCase()).toBe(release.innerChecksum);
      expect(summary.innerChecksum).not.toBe(release.innerChecksum);
      expect(() => gunzipSync(res.body.subarray(...release.tarball.contentsRange))).toThrow();
      // times: 1 → the next download is clean.
      expect(sha256((await fetchRaw(`${up.url}/tarballs/bar-1.0.0.tar`)).body)).toBe(release.outerChecksum);
    });

    it('clear() removes one fault or all of them', async () => {
      up.fault.status503({ times: 10 });
      up.fault.latencyMs(10);
      expect(up.fault.active().sort()).toEqual(['latencyMs', 'status503']);
      up.fault.clear('status503');
      expect(up.fault.active()).toEqual(['latencyMs']);
      expect((await fetchRaw(`${up.url}/names`)).status).toBe(200);
      up.fault.clear();
      expect(up.fault.active()).toEqual([]);
    });
  });
});
