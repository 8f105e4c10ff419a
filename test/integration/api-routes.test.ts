// hex.pm's HTTP API through the real engine (HEX_API_URL pointing at the mirror) against the
// fake hex.pm on loopback: package lookups under both prefixes and in both content types, the
// package search (kept briefly, answered from the local catalog when hex.pm cannot be asked),
// and every other call passed through as it was made, credentials included, and forgotten.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { decodeErlangTerm, encodeErlangTerm, FixtureRepo, type JsonLike } from '../support/hex-fixtures.js';
import { httpGet, type Reply } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';
import { hasTool } from '../support/tools.js';

const JSON_TYPE = 'application/json';
const ERLANG = 'application/vnd.hex+erlang';

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror;

beforeEach(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'leaf', version: '1.0.0', description: 'A leaf of the tree' });
  await repo.publish({ name: 'leaf', version: '1.1.0-rc.1+build.7', description: 'A leaf of the tree' });
  await repo.publish({ name: 'leafy', version: '0.2.0' });
  await repo.publish({ name: 'app', version: '2.0.0', deps: [{ name: 'leaf', requirement: '~> 1.0' }] });
  upstream = await startFakeUpstream(repo);
  mirror = await startMirror(upstream.url);
});

afterEach(async () => {
  await mirror.stop();
  await upstream.close();
  await removeDir(mirror.dataDir);
});

/** What hex.pm's API documents look like coming from the fake (their URLs name its address). */
const base = () => ({ api: `${upstream.url}/api`, repo: upstream.url });

/** Any method, with a body, headers as given, through a fresh connection. */
function send(path: string, options: { method: string; headers?: Record<string, string>; body?: Buffer }): Promise<Reply> {
  const url = new URL(mirror.url);
  return new Promise((resolve) => {
    const req = request({ host: url.hostname, port: url.port, path, method: options.method, headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', (error) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: error.message }));
    req.end(options.body);
  });
}

const json = (reply: Reply) => JSON.parse(reply.body.toString('utf8')) as JsonLike;

describe('package and release lookups', () => {
  it('answers /api/repos/hexpm/packages/… like /api/packages/…, from the same cache entries, in both content types', async () => {
    const viaRepos = await httpGet(mirror.url, '/api/repos/hexpm/packages/leaf', { headers: { accept: JSON_TYPE } });
    expect(viaRepos.status, viaRepos.body.toString()).toBe(200);
    expect(json(viaRepos)).toEqual(repo.apiPackageJson('leaf', base()));
    expect(viaRepos.headers['x-hexhub-cache']).toBe('MISS');
    const plain = await httpGet(mirror.url, '/api/packages/leaf', { headers: { accept: JSON_TYPE } });
    expect(plain.headers['x-hexhub-cache']).toBe('HIT');
    expect(plain.body.equals(viaRepos.body)).toBe(true);

    const release = await httpGet(mirror.url, '/api/packages/leaf/releases/1.0.0', { headers: { accept: ERLANG } });
    expect(release.status).toBe(200);
    expect(release.body.equals(encodeErlangTerm(repo.apiReleaseJson('leaf', '1.0.0', base())!))).toBe(true);
    const releaseViaRepos = await httpGet(mirror.url, '/api/repos/hexpm/packages/leaf/releases/1.0.0', { headers: { accept: ERLANG } });
    expect(releaseViaRepos.headers['x-hexhub-cache']).toBe('HIT');
    expect(releaseViaRepos.body.equals(release.body)).toBe(true);

    // One upstream request per resource and content type, whichever prefix asked.
    expect(upstream.countRequests(/^\/api\/(repos\/hexpm\/)?packages\/leaf$/)).toBe(1);
    expect(upstream.countRequests(/^\/api\/(repos\/hexpm\/)?packages\/leaf\/releases\/1\.0\.0$/)).toBe(1);
  });

  it("keeps the upstream's Content-Type with its charset, x-hex-message and Last-Modified, on hits too", async () => {
    upstream.apiHeaders['x-hex-message'] = '"leaf 1.0.0 has a security advisory"; level=warn';
    for (const [accept, type] of [
      [JSON_TYPE, 'application/json; charset=utf-8'],
      [ERLANG, 'application/vnd.hex+erlang; charset=utf-8'],
    ] as const) {
      for (const state of ['MISS', 'HIT']) {
        const reply = await httpGet(mirror.url, '/api/packages/leaf', { headers: { accept } });
        expect(reply.headers['x-hexhub-cache']).toBe(state);
        expect(reply.headers['content-type']).toBe(type);
        expect(reply.headers['x-hex-message']).toBe('"leaf 1.0.0 has a security advisory"; level=warn');
        expect(reply.headers['last-modified']).toBe(new Date(repo.release('leaf', '1.1.0-rc.1+build.7')!.publishedAt * 1000).toUTCString());
      }
    }
    const release = await httpGet(mirror.url, '/api/repos/hexpm/packages/leaf/releases/1.0.0', { headers: { accept: JSON_TYPE } });
    expect(release.headers['last-modified']).toBe(new Date(repo.release('leaf', '1.0.0')!.publishedAt * 1000).toUTCString());
  });

  it('answers a missing package or release with a 404 naming it, not a cache key', async () => {
    const pkg = await httpGet(mirror.url, '/api/packages/nosuchpkg', { headers: { accept: JSON_TYPE } });
    expect(pkg.status).toBe(404);
    expect(pkg.body.toString()).toMatch(/package nosuchpkg/);
    const rel = await httpGet(mirror.url, '/api/repos/hexpm/packages/leaf/releases/9.9.9', { headers: { accept: ERLANG } });
    expect(rel.status).toBe(404);
    expect(rel.body.toString()).toMatch(/release leaf 9\.9\.9/);
    for (const reply of [pkg, rel]) expect(reply.body.toString()).not.toMatch(/api\/(json|erlang)|\/index\b/);
  });
});

describe('package search', () => {
  it('passes the search on in both content types, keeping each answer a minute per normalised query', async () => {
    const first = await httpGet(mirror.url, '/api/packages?search=leaf&sort=downloads', { headers: { accept: JSON_TYPE } });
    expect(first.status, first.body.toString()).toBe(200);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.headers['x-hexhub-cache']).toBe('MISS');
    expect(first.headers['cache-control']).toBe('public, max-age=60');
    const expected = ['leaf', 'leafy'].map((name) => repo.apiPackageJson(name, base())!);
    expect(json(first)).toEqual(expected);
    expect(upstream.requests.at(-1)!.url).toBe('/api/packages?search=leaf&sort=downloads');

    // The same search with its parameters in another order, and under /api/repos/hexpm/.
    const again = await httpGet(mirror.url, '/api/packages?sort=downloads&search=leaf', { headers: { accept: JSON_TYPE } });
    expect(again.headers['x-hexhub-cache']).toBe('HIT');
    expect(again.body.equals(first.body)).toBe(true);
    expect(
      (await httpGet(mirror.url, '/api/repos/hexpm/packages?search=leaf&sort=downloads', { headers: { accept: JSON_TYPE } })).headers['x-hexhub-cache'],
    ).toBe('HIT');
    expect(upstream.countRequests(/^\/api\/packages$/)).toBe(1);

    const erlang = await httpGet(mirror.url, '/api/packages?search=leaf&sort=downloads', { headers: { accept: ERLANG } });
    expect(erlang.headers['x-hexhub-cache']).toBe('MISS');
    expect(erlang.headers['content-type']).toBe('application/vnd.hex+erlang; charset=utf-8');
    expect(erlang.body.equals(encodeErlangTerm(expected))).toBe(true);
    expect(upstream.requests.at(-1)!.headers.accept).toBe(ERLANG);

    const other = await httpGet(mirror.url, '/api/packages?search=app&sort=downloads', { headers: { accept: JSON_TYPE } });
    expect(json(other)).toEqual([repo.apiPackageJson('app', base())]);
    expect(upstream.countRequests(/^\/api\/packages$/)).toBe(3);
  });

  it('never keeps a search made with credentials (it can list private packages), and passes them on', async () => {
    for (let i = 0; i < 2; i++) {
      const reply = await httpGet(mirror.url, '/api/packages?search=leaf', { headers: { accept: JSON_TYPE, authorization: 'user-key-1' } });
      expect(reply.status).toBe(200);
      expect(reply.headers['x-hexhub-cache']).toBe('MISS');
      expect(reply.headers['cache-control']).toBe('private, no-store');
      expect(upstream.requests.at(-1)!.headers.authorization).toBe('user-key-1');
    }
    // …nor hands one to a caller without them.
    expect((await httpGet(mirror.url, '/api/packages?search=leaf', { headers: { accept: JSON_TYPE } })).headers['x-hexhub-cache']).toBe('MISS');
    expect(upstream.countRequests(/^\/api\/packages$/)).toBe(3);
  });

  /** Caches leaf (record, a tarball, its JSON API answer) and app (record only), as a build and `mix hex.info` would. */
  async function warm(): Promise<void> {
    for (const path of ['/packages/leaf', '/tarballs/leaf-1.0.0.tar', '/packages/app']) expect((await httpGet(mirror.url, path)).status, path).toBe(200);
    expect((await httpGet(mirror.url, '/api/packages/leaf', { headers: { accept: JSON_TYPE } })).status).toBe(200);
  }

  /** What a search for "lea" answers from the catalog: leaf, as hex.pm would describe it as far as the mirror knows. */
  function expectLocalLeaf(docs: JsonLike): void {
    const leaf = repo.apiPackageJson('leaf', base())!;
    expect(docs).toEqual([
      {
        name: 'leaf',
        repository: 'hexpm',
        url: leaf.url,
        html_url: `${upstream.url}/packages/leaf`,
        latest_version: '1.1.0-rc.1+build.7',
        latest_stable_version: '1.0.0',
        meta: { description: 'A leaf of the tree', licenses: [], links: {} },
        releases: (leaf.releases as { version: string; url: string; inserted_at: string }[]).map((r) => ({
          version: r.version,
          url: r.url,
          has_docs: false,
          inserted_at: r.inserted_at,
        })),
        retirements: {},
      },
    ]);
  }

  function expectLocalHeaders(reply: Reply, reason: RegExp): void {
    expect(reply.status, reply.body.toString()).toBe(200);
    expect(reply.headers['x-hexhub-offline-search']).toBe('local catalog');
    expect(reply.headers['x-hexhub-offline-reason']).toMatch(reason);
    expect(reply.headers['x-hex-message']).toMatch(/^".*only the packages this mirror has cached"; level=warn$/);
    expect(reply.headers['cache-control']).toBe('private, no-store');
  }

  it('answers from the local catalog when the upstream is disabled, in both content types, and says so', async () => {
    await warm();
    await mirror.engine.updateSettings({ upstreamEnabled: false });
    upstream.resetRequests();

    const reply = await httpGet(mirror.url, '/api/packages?search=lea&sort=downloads', { headers: { accept: JSON_TYPE } });
    expectLocalHeaders(reply, /offline mode/);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expectLocalLeaf(json(reply));

    const erlang = await httpGet(mirror.url, '/api/repos/hexpm/packages?search=lea', { headers: { accept: ERLANG } });
    expectLocalHeaders(erlang, /offline mode/);
    expect(erlang.headers['content-type']).toBe('application/vnd.hex+erlang; charset=utf-8');
    expectLocalLeaf(decodeErlangTerm(erlang.body));
    if (hasTool('erl', ['-noshell', '-eval', 'halt().'])) {
      // What hex_core does with it: binary_to_term(Body, [safe]) (no atoms it does not know).
      const file = join(mirror.dataDir, 'search.term');
      await writeFile(file, erlang.body);
      const erl = spawnSync(
        'erl',
        ['-noshell', '-eval', `{ok,B}=file:read_file("${file}"), [#{<<"name">> := N}] = binary_to_term(B, [safe]), io:format("~s", [N]), halt().`],
        { encoding: 'utf8' },
      );
      expect(erl.stdout, erl.stderr).toBe('leaf');
    }

    // The whole catalog, by name, and a search that finds nothing (mix: "No packages found").
    expect((json(await httpGet(mirror.url, '/api/packages', { headers: { accept: JSON_TYPE } })) as { name: string }[]).map((p) => p.name)).toEqual([
      'app',
      'leaf',
    ]);
    expect(json(await httpGet(mirror.url, '/api/packages?search=zzz', { headers: { accept: JSON_TYPE } }))).toEqual([]);
    expect(upstream.requests).toEqual([]);
  });

  it('answers from the local catalog when the upstream cannot be reached', async () => {
    await warm();
    await upstream.stop();
    const reply = await httpGet(mirror.url, '/api/packages?search=lea&sort=downloads', { headers: { accept: JSON_TYPE } });
    expectLocalHeaders(reply, /unreachable|ECONNREFUSED/);
    expectLocalLeaf(json(reply));
  });
});

describe('everything else passes through', () => {
  it('passes POST /api/short_url and a binary publish through unchanged, caches nothing and logs no credential', async () => {
    const credential = `secret-api-key-${randomBytes(8).toString('hex')}`;
    upstream.apiHeaders['x-hex-message'] = '"new Hex version available"; level=warn';
    const shortUrl = Buffer.from(JSON.stringify({ url: 'https://hex.pm/packages?search=leaf' }));
    const headers = { 'content-type': JSON_TYPE, accept: ERLANG, authorization: credential, 'x-hex-otp': '123456', cookie: 'hexhub_session=dashboard-cookie' };
    for (let i = 0; i < 2; i++) {
      const reply = await send('/api/short_url', { method: 'POST', headers, body: shortUrl });
      expect(reply.status, reply.body.toString()).toBe(201);
      expect(json(reply)).toEqual({
        method: 'POST',
        path: '/api/short_url',
        query: '',
        contentType: JSON_TYPE,
        accept: ERLANG,
        authorization: credential,
        cookie: null,
        hexOtp: '123456',
        bodyLength: shortUrl.length,
        bodySha256: createHash('sha256').update(shortUrl).digest('hex'),
      });
      expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(reply.headers['x-hex-message']).toBe('"new Hex version available"; level=warn');
      // The upstream's cookie is not the mirror origin's to take, nor its CORS header.
      expect(reply.headers['set-cookie']).toBeUndefined();
      expect(reply.headers['access-control-allow-origin']).toBeUndefined();
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(upstream.countRequests('/api/short_url')).toBe(2);

    // A package tarball as `mix hex.publish` uploads it: raw bytes, not a form.
    const tarball = randomBytes(3 * 1024 * 1024 + 17);
    const published = await send('/api/publish?replace=true', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', authorization: credential },
      body: tarball,
    });
    expect(published.status).toBe(201);
    expect(json(published)).toMatchObject({ path: '/api/publish', query: 'replace=true', contentType: 'application/octet-stream', bodyLength: tarball.length });
    expect(upstream.requests.find((r) => r.path === '/api/publish')!.body!.equals(tarball)).toBe(true);

    // Owners, keys, another organization's packages: any method, any path, as it came.
    expect(json(await send('/api/packages/leaf/owners/someone%40example.com', { method: 'DELETE', headers: { authorization: credential } }))).toMatchObject({
      method: 'DELETE',
      path: '/api/packages/leaf/owners/someone%40example.com',
      bodyLength: 0,
    });
    expect(json(await send('/api/keys', { method: 'GET', headers: { authorization: credential } }))).toMatchObject({
      method: 'GET',
      path: '/api/keys',
      authorization: credential,
    });
    expect(json(await send('/api/repos/acme/packages/secret', { method: 'GET', headers: { authorization: credential } }))).toMatchObject({
      path: '/api/repos/acme/packages/secret',
    });

    // Nothing of it was kept, and no log line carries the credential (but the calls were logged).
    expect(mirror.engine.index.all().filter(([key]) => key.startsWith('api/'))).toEqual([]);
    expect(existsSync(join(mirror.dataDir, 'cache/api'))).toBe(false);
    expect(mirror.logs.filter((line) => line.event === 'api_pass_through').length).toBeGreaterThanOrEqual(6);
    expect(JSON.stringify(mirror.logs)).not.toContain(credential);
  });

  it('refuses paths that would leave the upstream API, overlong targets and bodies over the limit, without asking the upstream', async () => {
    for (const path of ['/api/..%2fnames', '/api/%2e%2e/names', '/api/keys/..', '/api/x/%2E./%2e%2E/names', '/api/keys%00']) {
      const reply = await send(path, { method: 'POST', headers: { 'content-type': JSON_TYPE }, body: Buffer.from('{}') });
      expect(reply.status, path).toBe(404);
    }
    expect((await send(`/api/keys/${'a'.repeat(3000)}`, { method: 'GET' })).status).toBe(414);
    const url = new URL(mirror.url);
    const tooBig = await new Promise<number>((resolve) => {
      // Announces 100 MB and sends none of it: the answer must not wait for the body.
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/api/publish',
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(100_000_000) },
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', () => resolve(0));
      req.flushHeaders();
    });
    expect(tooBig).toBe(413);
    expect(upstream.requests).toEqual([]);
    // The legitimate neighbour goes through.
    expect((await send('/api/keys', { method: 'POST', headers: { 'content-type': JSON_TYPE }, body: Buffer.from('{}') })).status).toBe(201);
  });

  it('is refused to web pages like the repository paths, while Hex clients get through', async () => {
    const call = (headers: Record<string, string>) =>
      send('/api/short_url', { method: 'POST', headers: { 'content-type': JSON_TYPE, ...headers }, body: Buffer.from('{}') });
    expect((await call({})).status).toBe(201);
    upstream.resetRequests();
    const pages: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' },
    ];
    for (const headers of pages) {
      expect((await call(headers)).status, JSON.stringify(headers)).toBe(403);
      expect((await httpGet(mirror.url, '/api/packages?search=leaf', { headers })).status).toBe(403);
    }
    expect(upstream.requests).toEqual([]);
  });

  it('answers 503 for pass-through calls while the upstream is disabled', async () => {
    await mirror.engine.updateSettings({ upstreamEnabled: false });
    const reply = await send('/api/short_url', { method: 'POST', headers: { 'content-type': JSON_TYPE }, body: Buffer.from('{}') });
    expect(reply.status).toBe(503);
    expect(reply.body.toString()).toMatch(/offline mode.*POST \/api\/short_url/);
    expect(upstream.requests).toEqual([]);
  });
});
