// Security issue #11, tried as an attacker would: another local user, a remote client of a
// team server, a caller who holds the token, a hostile upstream and a web page. Each test
// shows one hole closed (they all failed on the code before the fix).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, type ApiClient } from '../../src-shared/api-client.js';
import { API_PREFIX, SESSION_HEADER, TOKEN_HEADER, type ServerEvent } from '../../src-shared/contract.js';
import { encodePackage, keyFingerprint, signAndPack } from '../../src-main/hex/registry.js';
import { run, serve, upstreamEnv } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo, otherKeys, testKeys } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';
import { canActAsOthers, createNeighbourHost, fetchAsNobody, NOBODY, runAsNobody } from '../support/other-parties.js';

let repo: FixtureRepo;
let upstream: FakeUpstream;
const mirrors: TestMirror[] = [];
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hexhub-sec-'));
  dirs.push(dir);
  return dir;
}

async function mirrorOn(env: Record<string, string> = {}, dataDir?: string): Promise<TestMirror> {
  const mirror = await startMirror(upstream.url, env, dataDir);
  mirrors.push(mirror);
  return mirror;
}

const apiOf = (mirror: TestMirror): ApiClient => createApiClient({ baseUrl: mirror.url, token: mirror.engine.token });

async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'jason', version: '1.4.1' });
  await repo.publish({ name: 'plug', version: '1.14.0' });
  upstream = await startFakeUpstream(repo);
});

afterEach(async () => {
  while (mirrors.length) await mirrors.pop()!.stop();
});

afterAll(async () => {
  await upstream.close();
  for (const dir of dirs) await removeDir(dir);
});

describe("the access token stays with the machine's owner", () => {
  it.runIf(canActAsOthers())('another local user (uid 65534) cannot read the token from /, the data dir or the API', async () => {
    const mirror = await mirrorOn();
    const token = mirror.engine.token;
    const base = mirror.url;
    const host = { host: new URL(base).host };
    const replies = await fetchAsNobody([
      [`${base}/`, host],
      [`${base}/index.html`, host],
      [`${base}${API_PREFIX}/status`, host],
      [`${base}${API_PREFIX}/events`, host],
      [`${base}/-/login?code=guessed`, host],
      [`${base}${API_PREFIX}/status`, { ...host, [TOKEN_HEADER]: 'guessed-token' }],
    ]);
    expect(replies.map((r) => ('status' in r ? r.status : r.error))).toEqual([401, 401, 401, 401, 401, 401]);
    expect(JSON.stringify(replies)).not.toContain(token);
    // The page says how the owner signs in, and nothing else.
    expect('body' in replies[0]! && replies[0].body).toMatch(/hexhub dashboard/);
    // The data dir is the owner's alone: the token file cannot even be reached.
    const cat = await runAsNobody('cat', [join(mirror.dataDir, 'token')]);
    expect(cat.code).not.toBe(0);
    expect(cat.stdout).not.toContain(token);
    expect(cat.stderr).toMatch(/Permission denied/);
  });

  it.runIf(canActAsOthers())(
    'a remote client of a wildcard listener gets no token and no API, even forging a loopback Host; Hex clients are served',
    async () => {
      const neighbour = createNeighbourHost();
      try {
        const mirror = await mirrorOn({ HEXHUB_HOST: '0.0.0.0' });
        const port = new URL(mirror.url).port;
        // The URL the mirror gives out for this machine is loopback, never the wildcard address.
        expect(mirror.url).toBe(`http://127.0.0.1:${port}`);
        const link = await mirror.engine.control.loginLink();
        const remote = `http://${neighbour.hostAddress}:${port}`;
        const forged = { host: `127.0.0.1:${port}` };
        const replies = await neighbour.fetch([
          [`${remote}/`, forged],
          [`${remote}${API_PREFIX}/status`, { ...forged, [TOKEN_HEADER]: mirror.engine.token }],
          [`${remote}${link.url.slice(mirror.url.length)}`, forged],
          [`${remote}/index.html`, forged],
          [`${remote}/packages/jason`, { host: `hexhub.internal:${port}` }],
          [`${remote}/tarballs/jason-1.4.1.tar`, { host: `hexhub.internal:${port}` }],
          [`${remote}/metrics`, { host: `hexhub.internal:${port}` }],
        ]);
        expect(replies.map((r) => ('status' in r ? r.status : r.error))).toEqual([403, 403, 403, 403, 200, 200, 200]);
        const refusals = JSON.stringify(replies.slice(0, 4));
        expect(refusals).not.toContain(mirror.engine.token);
        expect(refusals).toMatch(/answer only on this machine/);
        expect(replies.slice(0, 4).every((r) => 'setCookie' in r && r.setCookie === null)).toBe(true);
        // The refused link was not spent: it still signs in from this machine.
        expect((await fetch(link.url)).status).toBe(200);
      } finally {
        neighbour.remove();
      }
    },
  );

  it('signs a browser in through a one-time link: an HttpOnly SameSite=Strict cookie and a page secret, never the token in a page', async () => {
    const mirror = await mirrorOn();
    const before = await fetch(`${mirror.url}/`);
    expect(before.status).toBe(401);
    const page = await before.text();
    expect(page).not.toContain(mirror.engine.token);
    expect(page).not.toMatch(/hexhub-token/);

    const link = (await apiOf(mirror).loginLink()).url;
    expect(link).toMatch(new RegExp(`^${mirror.url}/-/login\\?code=[\\w-]{43}$`));
    const signIn = await fetch(link, { redirect: 'manual' });
    expect(signIn.status).toBe(200);
    const setCookie = signIn.headers.get('set-cookie')!;
    expect(setCookie).toMatch(new RegExp(`^hexhub-session-${new URL(mirror.url).port}=`));
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\//);
    const cookie = setCookie.split(';')[0]!;
    expect(cookie).not.toContain(mirror.engine.token);
    // The page moves on to the dashboard with the page secret in the fragment (never sent to a server).
    const secret = /http-equiv="refresh" content="0;url=\/#session=([\w-]{43})"/.exec(await signIn.text())![1]!;
    const session = { cookie, [SESSION_HEADER]: secret };

    const dashboard = await fetch(`${mirror.url}/`, { headers: { cookie } });
    expect(dashboard.status).toBe(200);
    const html = await dashboard.text();
    expect(html).toContain('id="root"');
    expect(html).not.toContain(mirror.engine.token);
    expect(html).not.toContain(secret);
    // Cookie and secret drive the API like the token does, and the event stream too.
    expect((await fetch(`${mirror.url}${API_PREFIX}/status`, { headers: session })).status).toBe(200);
    const events = await fetch(`${mirror.url}${API_PREFIX}/events`, { headers: session });
    expect(events.status).toBe(200);
    await events.body?.cancel();
    // The cookie alone (what a page on another port of this host would get) or the secret alone opens nothing.
    expect((await fetch(`${mirror.url}${API_PREFIX}/status`, { headers: { cookie } })).status).toBe(401);
    expect((await fetch(`${mirror.url}${API_PREFIX}/status`, { headers: { [SESSION_HEADER]: secret } })).status).toBe(401);
    // Nor does the cookie get the secret handed out again.
    const again = await fetch(`${mirror.url}/-/login?code=x`, { headers: { cookie } });
    expect(await again.text()).not.toContain(secret);
    // The token in the query string opens nothing any more (it ends up in logs and history).
    expect((await fetch(`${mirror.url}${API_PREFIX}/events?token=${mirror.engine.token}`)).status).toBe(401);

    // A link works once; a tampered or foreign cookie is no session.
    expect((await fetch(link)).status).toBe(401);
    const [name, value] = cookie.split('=') as [string, string];
    const tampered = `${name}=${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await fetch(`${mirror.url}${API_PREFIX}/status`, { headers: { ...session, cookie: tampered } })).status).toBe(401);
    const other = await mirrorOn();
    const otherCookie = `hexhub-session-${new URL(other.url).port}=${value}`;
    expect((await fetch(`${other.url}${API_PREFIX}/status`, { headers: { ...session, cookie: otherCookie } })).status).toBe(401);
    // A cross-site request with the session is still refused (SameSite aside, the server checks).
    expect((await fetch(`${mirror.url}${API_PREFIX}/status`, { headers: { ...session, 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
  });

  it('the CLI sends the token only to a server that proves it knows it', async () => {
    const dataDir = await tempDir();
    await writeFile(join(dataDir, 'token'), `${'t'.repeat(43)}\n`, { mode: 0o600 });
    // Whatever now listens where the lock says the server was (a reused pid, another user's process).
    const seen: string[] = [];
    const impostor = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ proof: 'f'.repeat(64) }));
      });
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
    await writeFile(join(dataDir, 'hexhub.lock'), JSON.stringify({ pid: process.pid, role: 'server', startedAt: Date.now(), url }));
    try {
      for (const command of [['status'], ['verify'], ['prewarm', 'jason'], ['dashboard', '--no-open']]) {
        const result = await run([...command, '--data-dir', dataDir], upstreamEnv(upstream.url));
        expect(result.code, command.join(' ')).not.toBe(0);
        expect(result.stderr).toMatch(/did not prove it is this data dir's HexHub server, so the access token was not sent/);
      }
      expect(seen.length).toBe(4);
      expect(seen.every((line) => line.startsWith(`POST ${API_PREFIX}/proof `))).toBe(true);
      expect(seen.join('\n')).not.toContain('t'.repeat(43));
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it('hexhub dashboard prints a fresh sign-in link from the running server as its last line', async () => {
    const dataDir = await tempDir();
    const none = await run(['dashboard', '--data-dir', dataDir], { HEXHUB_NO_BROWSER: '1' });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no HexHub server is running on .*start one/);
    const server = await serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url, { HEXHUB_LOG_LEVEL: 'warn' }));
    try {
      await expect.poll(() => server.stdout()).toMatch(/sign-in link [^:]*: \S+\n/);
      const printed = /sign-in link [^:]*: (\S+)/.exec(server.stdout())![1]!;
      const result = await run(['dashboard', '--data-dir', dataDir], { HEXHUB_NO_BROWSER: '1' });
      expect(result.code).toBe(0);
      const link = result.stdout.trimEnd().split('\n').at(-1)!;
      expect(link).toMatch(new RegExp(`^${server.url}/-/login\\?code=[\\w-]{43}$`));
      expect(link).not.toBe(printed);
      expect((await fetch(link)).status).toBe(200);
      expect((await fetch(link)).status).toBe(401);
      // The one serve printed is a separate link, still good once.
      expect((await fetch(printed)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});

describe('the repository key is PEM text, never a path', () => {
  it('refuses a path (a FIFO, a private key file, a missing file) without reading it, and keeps only the parsed public key', async () => {
    const mirror = await mirrorOn({ UPSTREAM_PUBLIC_KEY: '' });
    const api = apiOf(mirror);
    const dir = await tempDir();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const secret = join(dir, 'id_rsa');
    await writeFile(secret, otherKeys().privateKeyPem, { mode: 0o600 });
    const messages: string[] = [];
    for (const path of [fifo, secret, join(dir, 'missing.pem'), '/etc/passwd']) {
      const error = await apiError(api.updateSettings({ publicKeyPem: path }));
      expect(error.status).toBe(422);
      messages.push(error.body.fields!.publicKeyPem!);
    }
    // One message for every path: it says nothing about which files exist.
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toMatch(/expected PEM text/);
    // The server is not stuck on the FIFO.
    expect((await api.status()).version).toEqual(expect.any(String));
    // A private key pasted as text is refused too, and never echoed or stored.
    const pasted = await apiError(api.updateSettings({ publicKeyPem: otherKeys().privateKeyPem }));
    expect(pasted.body.fields!.publicKeyPem).toMatch(/private key/);
    expect(JSON.stringify(pasted.body)).not.toContain('PRIVATE');
    expect(existsSync(join(mirror.dataDir, 'settings.json')) ? await readFile(join(mirror.dataDir, 'settings.json'), 'utf8') : '').not.toContain('PRIVATE');

    // PEM text with surroundings: only the normalised SPKI key is kept and echoed.
    const messy = `  junk before\n${otherKeys().publicKeyPem}\ntrailing words\n`;
    const change = await apiError(api.updateSettings({ publicKeyPem: messy }));
    expect(change.status).toBe(409);
    const saved = await api.updateSettings({ publicKeyPem: messy, confirmUpstreamChange: change.body.upstreamChange!.to });
    expect(saved.values.publicKeyPem).toBe(otherKeys().publicKeyPem);
    const file = await readFile(join(mirror.dataDir, 'settings.json'), 'utf8');
    expect(file).not.toContain('junk');
    expect(JSON.parse(file).publicKeyPem).toBe(otherKeys().publicKeyPem);
  });
});

describe("the upstream's identity is privileged and recorded", () => {
  it('a change of URL or key needs confirmation naming both fingerprints, and is logged and announced', async () => {
    const mirror = await mirrorOn({ UPSTREAM_URL: '', UPSTREAM_PUBLIC_KEY: '' });
    const api = apiOf(mirror);
    const events: ServerEvent[] = [];
    mirror.engine.events.subscribe((event) => events.push(event));
    const hexpm = (await api.settings()).publicKeyFingerprint;
    const ours = keyFingerprint(testKeys().publicKeyPem);
    expect(hexpm).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(hexpm).not.toBe(ours);

    const unconfirmed = await apiError(api.updateSettings({ upstreamUrl: upstream.url, publicKeyPem: testKeys().publicKeyPem }));
    expect(unconfirmed.status).toBe(409);
    expect(unconfirmed.body.error).toBe('confirmation_required');
    expect(unconfirmed.body.upstreamChange).toEqual({ from: { url: 'https://repo.hex.pm', fingerprint: hexpm }, to: { url: upstream.url, fingerprint: ours } });
    // Confirming something else than what the change would become does not do.
    const wrong = await apiError(
      api.updateSettings({
        upstreamUrl: upstream.url,
        publicKeyPem: testKeys().publicKeyPem,
        confirmUpstreamChange: { url: upstream.url, fingerprint: hexpm },
      }),
    );
    expect(wrong.status).toBe(409);
    expect((await api.settings()).values.upstreamUrl).toBe('https://repo.hex.pm');
    expect(events.filter((e) => e.type === 'upstream-identity')).toEqual([]);

    await api.updateSettings({ upstreamUrl: upstream.url, publicKeyPem: testKeys().publicKeyPem, confirmUpstreamChange: unconfirmed.body.upstreamChange!.to });
    expect((await api.settings()).publicKeyFingerprint).toBe(ours);
    const announced = events.filter((e) => e.type === 'upstream-identity');
    expect(announced).toEqual([{ type: 'upstream-identity', change: unconfirmed.body.upstreamChange, at: expect.any(Number) }]);
    const logged = mirror.logs.filter((l) => l.event === 'upstream_identity_changed');
    expect(logged).toEqual([
      expect.objectContaining({ level: 40, from: { url: 'https://repo.hex.pm', fingerprint: hexpm }, to: { url: upstream.url, fingerprint: ours } }),
    ]);
    // Other settings need no confirmation.
    await api.updateSettings({ registryTtlSeconds: 60 });
  });

  it('after an upstream takeover and a revert, the original bytes are served and verify comes out clean', async () => {
    // The attacker's repository: the same releases, other bytes, signed with the attacker's key.
    const evil = new FixtureRepo({ privateKeyPem: otherKeys().privateKeyPem });
    const poison = (name: string) => `-module(${name}).\n-export([hello/0]).\nhello() -> pwned.\n`;
    await evil.publish({ name: 'jason', version: '1.4.1', erlangModuleSource: poison('jason') });
    await evil.publish({ name: 'plug', version: '1.14.0', erlangModuleSource: poison('plug') });
    const attacker = await startFakeUpstream(evil);
    try {
      const mirror = await mirrorOn({ UPSTREAM_URL: '', UPSTREAM_PUBLIC_KEY: '', UPSTREAM_BUILDS_URL: '', UPSTREAM_API_URL: '' });
      const api = apiOf(mirror);
      const switchTo = async (url: string, publicKeyPem: string) => {
        const change = await apiError(api.updateSettings({ upstreamUrl: url, publicKeyPem }));
        await api.updateSettings({ upstreamUrl: url, publicKeyPem, confirmUpstreamChange: change.body.upstreamChange!.to });
      };
      const original = (name: string, version: string) => repo.release(name, version)!;
      const get = (path: string) => httpGet(mirror.url, path);

      await switchTo(upstream.url, testKeys().publicKeyPem);
      for (const [name, version] of [
        ['jason', '1.4.1'],
        ['plug', '1.14.0'],
      ] as const) {
        expect(sha256((await get(`/tarballs/${name}-${version}.tar`)).body)).toBe(original(name, version).outerChecksum);
        expect((await get(`/docs/${name}-${version}.tar.gz`)).body.equals(original(name, version).docs!)).toBe(true);
      }

      // Taken over: what the attacker's upstream serves replaces what was kept.
      await switchTo(attacker.url, evil.publicKeyPem);
      for (const [name, version] of [
        ['jason', '1.4.1'],
        ['plug', '1.14.0'],
      ] as const) {
        expect(sha256((await get(`/tarballs/${name}-${version}.tar`)).body)).toBe(evil.release(name, version)!.outerChecksum);
        expect((await get(`/docs/${name}-${version}.tar.gz`)).status).toBe(200);
      }

      // Reverted. While the real upstream is down, the poisoned copies are not served, not even stale.
      await switchTo(upstream.url, testKeys().publicKeyPem);
      await upstream.stop();
      try {
        const tarball = await get('/tarballs/jason-1.4.1.tar');
        expect(tarball.status).toBeGreaterThanOrEqual(500);
        expect(sha256(tarball.body)).not.toBe(evil.release('jason', '1.4.1')!.outerChecksum);
        const record = await get('/packages/jason');
        expect(record.status).toBeGreaterThanOrEqual(500);
        expect(record.body.toString()).toMatch(/another upstream or was verified with another key/);
      } finally {
        await upstream.start();
      }
      // jason is asked for first: the original bytes come back.
      const jason = await get('/tarballs/jason-1.4.1.tar');
      expect(jason.status).toBe(200);
      expect(sha256(jason.body)).toBe(original('jason', '1.4.1').outerChecksum);
      expect((await get('/docs/jason-1.4.1.tar.gz')).body.equals(original('jason', '1.4.1').docs!)).toBe(true);
      // plug is not: verify finds its poisoned record, tarball and docs, and quarantines them.
      const report = await api.verify();
      expect(report.problems.map((p) => p.key).sort()).toEqual(['docs/plug-1.14.0.tar.gz', 'registry/packages/plug', 'tarballs/plug-1.14.0.tar']);
      expect(report.problems.find((p) => p.key === 'registry/packages/plug')!.reason).toMatch(/does not verify with the current upstream key/);
      expect(report.problems.find((p) => p.key === 'tarballs/plug-1.14.0.tar')!.reason).toMatch(
        /does not match the checksum in the registry record verified with the current upstream key/,
      );
      expect(report.problems.find((p) => p.key === 'docs/plug-1.14.0.tar.gz')!.reason).toMatch(/came from another upstream/);
      const plug = await get('/tarballs/plug-1.14.0.tar');
      expect(sha256(plug.body)).toBe(original('plug', '1.14.0').outerChecksum);
      expect((await get('/docs/plug-1.14.0.tar.gz')).body.equals(original('plug', '1.14.0').docs!)).toBe(true);
      const clean = await api.verify();
      expect(clean.problems).toEqual([]);
      expect(clean.ok).toBe(clean.checked);
    } finally {
      await attacker.close();
    }
  });
});

describe('browsers cannot drive the repository routes', () => {
  it('refuses cross-site and foreign-origin requests, warm or cold, and marks every answer nosniff and sandboxed', async () => {
    const mirror = await mirrorOn();
    const warm = await httpGet(mirror.url, '/tarballs/jason-1.4.1.tar');
    expect(warm.status).toBe(200);
    expect(warm.headers['x-content-type-options']).toBe('nosniff');
    expect(warm.headers['content-security-policy']).toBe('sandbox');
    upstream.resetRequests();
    const page: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
    ];
    for (const headers of page) {
      for (const path of [
        '/tarballs/jason-1.4.1.tar',
        '/tarballs/plug-1.14.0.tar',
        '/packages/plug',
        '/docs/plug-1.14.0.tar.gz',
        '/api/packages/plug',
        '/names',
      ]) {
        const reply = await httpGet(mirror.url, path, { headers });
        expect(reply.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(reply.body.toString()).toMatch(/not served/);
      }
    }
    // Nothing was fetched or kept for them.
    expect(upstream.requests).toEqual([]);
    expect(mirror.engine.index.get('tarballs/plug-1.14.0.tar')).toBeUndefined();
    // Hex clients (no Origin, no fetch metadata) and a user typing the URL are served; errors carry the headers too.
    expect((await httpGet(mirror.url, '/tarballs/jason-1.4.1.tar', { headers: { 'sec-fetch-site': 'none' } })).status).toBe(200);
    expect((await httpGet(mirror.url, '/tarballs/jason-1.4.1.tar', { headers: { origin: mirror.url } })).status).toBe(200);
    const missing = await httpGet(mirror.url, '/tarballs/nope-1.0.0.tar');
    expect(missing.status).toBe(404);
    expect(missing.headers['x-content-type-options']).toBe('nosniff');
    expect(missing.headers['content-security-policy']).toBe('sandbox');
  });

  it('on a loopback listener, /metrics, /healthz and /readyz answer only a Host naming the server', async () => {
    const mirror = await mirrorOn();
    for (const path of ['/metrics', '/healthz', '/readyz']) {
      expect((await httpGet(mirror.url, path)).status, path).toBe(200);
      const rebound = await httpGet(mirror.url, path, { headers: { host: `rebind.example:${new URL(mirror.url).port}` } });
      expect(rebound.status, path).toBe(403);
      expect(rebound.body.toString()).not.toMatch(/hexhub_/);
    }
  });
});

describe('registry bombs', () => {
  it('refuses a registry body that unpacks past the limit, unpacking it off the event loop', async () => {
    const mirror = await mirrorOn({ UPSTREAM_RETRY_ATTEMPTS: '0' });
    // 256 MiB of zeros: about 260 KB of gzip.
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(300 * 1024);
    const names = Array.from({ length: 6 }, (_, i) => `bomb${i}`);
    for (const name of names) upstream.setFile(`/packages/${name}`, bomb, 'application/octet-stream');
    try {
      // While the bombs are unpacked, the server keeps answering: count the answers it gives meanwhile.
      let done = false;
      let answered = 0;
      const probe = (async () => {
        while (!done) if ((await httpGet(mirror.url, '/healthz')).status === 200) answered++;
      })();
      const replies = await Promise.all(names.map((name) => httpGet(mirror.url, `/packages/${name}`)));
      done = true;
      await probe;
      for (const reply of replies) {
        expect(reply.status).toBe(502);
        expect(reply.body.toString()).toMatch(/unpacks to more than 64 MiB; refused/);
      }
      expect(names.every((name) => mirror.engine.index.get(`registry/packages/${name}`) === undefined)).toBe(true);
      // Unpacked synchronously (the old way), the loop was blocked for the whole of every bomb.
      expect(answered).toBeGreaterThanOrEqual(3);
    } finally {
      for (const name of names) upstream.deleteFile(`/packages/${name}`);
    }
  });
});

describe('the data dir', () => {
  it('is 0700, and the token, settings, index, counters, activity log, job history and lock are 0600 (setup backups: setup.test.ts)', async () => {
    const dataDir = await tempDir();
    chmodSync(dataDir, 0o755);
    const mirror = await mirrorOn({}, dataDir);
    const api = apiOf(mirror);
    await api.updateSettings({ registryTtlSeconds: 120 });
    await httpGet(mirror.url, '/packages/jason');
    // A pre-warm writes the job history (a lock file's text can name private repositories) and the activity log.
    const job = await api.startPrewarm({ packages: ['jason'] });
    for (let i = 0; i < 200 && ['resolving', 'running'].includes((await api.job(job.id)).state); i++) await new Promise((r) => setTimeout(r, 25));
    for (let i = 0; i < 200 && !(existsSync(join(dataDir, 'jobs.json')) && existsSync(join(dataDir, 'activity.jsonl'))); i++)
      await new Promise((r) => setTimeout(r, 25));
    await mirror.engine.index.flush();
    const mode = (path: string) => (statSync(join(dataDir, path)).mode & 0o777).toString(8);
    expect(mode('.')).toBe('700');
    for (const file of ['token', 'settings.json', 'index.jsonl', 'counters.json', 'activity.jsonl', 'jobs.json', 'hexhub.lock'])
      expect(mode(file), file).toBe('600');
  });

  it.runIf(canActAsOthers())('is refused when another user owns it', async () => {
    const dataDir = await tempDir();
    const theirs = join(dataDir, 'theirs');
    await mkdir(theirs);
    chownSync(theirs, NOBODY, NOBODY);
    await expect(startMirror(upstream.url, {}, theirs)).rejects.toThrow(/belongs to another user \(uid 65534; you are uid 0\)/);
    expect(await readdir(theirs)).toEqual([]);
    const cli = await run(['serve', '--port', '0', '--data-dir', theirs], upstreamEnv(upstream.url));
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/belongs to another user/);
  });
});

describe('versions that are not SemVer', () => {
  it('in a validly signed record are shown, sorted last, never a 500', async () => {
    const jason = repo.release('jason', '1.4.1')!;
    const release = (version: string) => ({ version, innerChecksum: jason.innerChecksum, outerChecksum: jason.outerChecksum, dependencies: [] });
    const body = signAndPack(
      encodePackage({ name: 'odd', repository: 'hexpm', releases: [release('1.0'), release('2.0.0'), release('latest'), release('1.10.0')] }),
      testKeys().privateKeyPem,
    );
    upstream.setFile('/packages/odd', body, 'application/octet-stream');
    try {
      const mirror = await mirrorOn();
      expect((await httpGet(mirror.url, '/packages/odd')).status).toBe(200);
      const detail = await apiOf(mirror).package('odd');
      expect(detail.registry!.releases.map((r) => r.version)).toEqual(['2.0.0', '1.10.0', '1.0', 'latest']);
      // Not a Hex version, so not a tarball name either.
      expect((await httpGet(mirror.url, '/tarballs/odd-1.0.tar')).status).toBe(404);
    } finally {
      upstream.deleteFile('/packages/odd');
    }
  });
});
