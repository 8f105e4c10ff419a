// GitHub issue "Hostile input": what a careless or malicious client can send the mirror, and
// what must hold whatever it sends. The invariants, checked through real loopback servers:
//
//   - no 5xx while the upstream is healthy: every refusal is a 4xx with a reason;
//   - nothing outside the data dir is read (a sentinel file next to the data dir never shows
//     up in an answer) or written (the data dir's parent keeps exactly what it had), and the
//     data dir holds only what the engine is meant to write there;
//   - the upstream is only ever asked for well-formed Hex paths, or API calls passed through
//     as they came that stay inside the API;
//   - the token and control data only reach requests that pass the access checks;
//   - slow, idle, oversized and numerous connections cost a bounded amount and never stop
//     the server from answering others.
//
// Covered elsewhere, and not repeated here: control-api.test.ts (a missing or wrong token on
// GET /status and DELETE /cache; a foreign, "null" or cross-site Origin and a rebinding Host
// on GET /status; malformed and 2 MiB PATCH /settings bodies; a file:/// upstream URL; an
// ftp:// setup mirrorUrl), repository.test.ts (duplicate slashes and a literal + in versions
// on the happy path) and test/e2e-ui/security.spec.ts (the same refusals from a real browser).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_PREFIX, TOKEN_HEADER, type UpstreamChange } from '../../src-shared/contract.js';
import type { HttpLimits } from '../../src-main/server/http-app.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet, type Reply } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';

// ---------------------------------------------------------------- fixtures and clean-up

const SECRET_FILE = 'secret.txt';
/** Written next to the data dir: any answer containing it read a file it had no business reading. */
const SECRET = `hexhub-sentinel-${randomBytes(16).toString('hex')}`;

/** Tight bounds, so that the timeouts play out within a test. */
const SMALL_LIMITS: Partial<HttpLimits> = {
  headersTimeoutMs: 1000,
  requestTimeoutMs: 2000,
  checkIntervalMs: 200,
  keepAliveTimeoutMs: 500,
  idleSocketTimeoutMs: 2000,
};

let repo: FixtureRepo;
let fakeHome: string;

beforeAll(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'leaf', version: '1.0.0' });
  await repo.publish({ name: 'leaf', version: '1.1.0-rc.1+build.7' });
  await repo.publish({ name: 'app', version: '2.0.0', deps: [{ name: 'leaf', requirement: '~> 1.0' }] });
  // A safety net only: no request here may run machine setup, but if an access check ever
  // let one through, it must change a throw-away home, not the real one of whoever runs this.
  fakeHome = await mkdtemp(join(tmpdir(), 'hexhub-hostile-home-'));
  vi.stubEnv('HOME', fakeHome);
  vi.stubEnv('HEX_HOME', join(fakeHome, '.hex'));
  vi.stubEnv('XDG_CONFIG_HOME', join(fakeHome, '.config'));
  vi.stubEnv('ZDOTDIR', fakeHome);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await removeDir(fakeHome);
});

const cleanups: (() => Promise<unknown>)[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Sandbox {
  /** A private temp dir holding only the data dir and the sentinel. */
  root: string;
  dataDir: string;
  upstream: FakeUpstream;
  mirror: TestMirror;
  port: number;
}

/**
 * A fake upstream and a mirror whose data dir sits in its own temp dir next to the sentinel,
 * so that "nothing appeared next to the data dir" can be checked without other tests' files.
 */
async function sandbox(options: { env?: Record<string, string>; httpLimits?: Partial<HttpLimits>; saveUpstreamUrl?: boolean } = {}): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'hexhub-hostile-'));
  cleanups.push(() => removeDir(root));
  const dataDir = join(root, 'data');
  await mkdir(dataDir);
  await writeFile(join(root, SECRET_FILE), SECRET);
  const upstream = await startFakeUpstream(repo);
  cleanups.push(() => upstream.close());
  // With UPSTREAM_URL unset the setting can be changed from the API; it then comes from here.
  if (options.saveUpstreamUrl) await writeFile(join(dataDir, 'settings.json'), JSON.stringify({ upstreamUrl: upstream.url }));
  const mirror = await startMirror(upstream.url, options.env ?? {}, dataDir, options.httpLimits ? { httpLimits: options.httpLimits } : {});
  cleanups.push(() => mirror.stop());
  return { root, dataDir, upstream, mirror, port: Number(new URL(mirror.url).port) };
}

// ---------------------------------------------------------------- invariants

// The Hex name rules (hexpm package.ex, SemVer 2.0), restated rather than imported from names.ts:
// a loosened names.ts must not loosen the checks of what it lets through along with it.
const HEX_NAME = /^[a-z][a-z0-9_]{0,127}$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const isPackageName = (value: string) => HEX_NAME.test(value);
const isVersion = (value: string) => value.length <= 128 && SEMVER.test(value);

/** NAME-VERSION plus suffix (names cannot contain "-", so the first one separates them). */
function isReleaseFile(file: string, suffix: string): boolean {
  if (!file.endsWith(suffix)) return false;
  const base = file.slice(0, -suffix.length);
  const dash = base.indexOf('-');
  return dash > 0 && isPackageName(base.slice(0, dash)) && isVersion(base.slice(dash + 1));
}

const INSTALLS_SEGMENT = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,127}$/;
const isInstallsPath = (rest: string) => {
  const segments = rest.split('/');
  return segments.length >= 1 && segments.length <= 4 && segments.every((s) => INSTALLS_SEGMENT.test(s));
};

/** The only paths the mirror may ask the upstream for: Hex repository and API paths with valid names. */
function isWellFormedUpstreamPath(path: string): boolean {
  if (path === '/names' || path === '/versions' || path === '/public_key') return true;
  let m = /^\/packages\/([^/]+)$/.exec(path);
  if (m) return isPackageName(m[1]!);
  m = /^\/tarballs\/([^/]+)$/.exec(path);
  if (m) return isReleaseFile(m[1]!, '.tar');
  m = /^\/docs\/([^/]+)$/.exec(path);
  if (m) return isReleaseFile(m[1]!, '.tar.gz');
  if (path === '/api/packages') return true; // the package search
  m = /^\/api\/packages\/([^/]+)(?:\/releases\/([^/]+))?$/.exec(path);
  if (m) return isPackageName(m[1]!) && (m[2] === undefined || isVersion(m[2]));
  m = /^\/installs\/(.+)$/.exec(path);
  return m ? isInstallsPath(m[1]!) : false;
}

/** Object files the engine may keep under cache/, spelled out independently of keys.ts. */
function isExpectedCacheFile(rel: string): boolean {
  if (rel === 'registry/names' || rel === 'registry/versions' || rel === 'public_key') return true;
  let m = /^registry\/packages\/([^/]+)$/.exec(rel);
  if (m) return isPackageName(m[1]!);
  m = /^tarballs\/([^/]+)$/.exec(rel);
  if (m) return isReleaseFile(m[1]!, '.tar');
  m = /^docs\/([^/]+)$/.exec(rel);
  if (m) return isReleaseFile(m[1]!, '.tar.gz');
  m = /^api\/(?:json|erlang)\/packages\/([^/]+)\/(?:index|releases\/([^/]+))$/.exec(rel);
  if (m) return isPackageName(m[1]!) && (m[2] === undefined || isVersion(m[2]));
  m = /^installs\/(.+)$/.exec(rel);
  return m ? isInstallsPath(m[1]!) : false;
}

async function walk(dir: string, prefix = ''): Promise<{ rel: string; isDir: boolean }[]> {
  const out: { rel: string; isDir: boolean }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    out.push({ rel, isDir: entry.isDirectory() });
    if (entry.isDirectory()) out.push(...(await walk(join(dir, entry.name), rel)));
  }
  return out;
}

/**
 * What should not be there: in the data dir, anything but the engine's own files and
 * well-formed cache objects (tmp/ empty); next to it, anything new; the sentinel, changed.
 */
async function diskViolations(box: Sandbox, allow: { settings?: boolean } = {}): Promise<string[]> {
  const problems: string[] = [];
  // The counters, the activity log and the job history are the engine's own, whatever it was sent.
  const topFiles = new Set([
    'index.jsonl',
    'token',
    'hexhub.lock',
    'counters.json',
    'activity.jsonl',
    'jobs.json',
    ...(allow.settings ? ['settings.json'] : []),
  ]);
  for (const { rel, isDir } of await walk(box.dataDir)) {
    const [top, ...rest] = rel.split('/');
    if (rest.length === 0) {
      if (isDir ? top !== 'cache' && top !== 'tmp' : !topFiles.has(top!)) problems.push(`unexpected in the data dir: ${rel}`);
    } else if (top === 'tmp') {
      problems.push(`left in tmp/: ${rel}`);
    } else if (top === 'cache' && !isDir && !isExpectedCacheFile(rest.join('/'))) {
      problems.push(`unexpected cache file: ${rel}`);
    }
  }
  const beside = (await readdir(box.root)).sort();
  if (beside.join(',') !== `data,${SECRET_FILE}`) problems.push(`the data dir's parent now holds: ${beside.join(', ')}`);
  if ((await readFile(join(box.root, SECRET_FILE), 'utf8')) !== SECRET) problems.push('the sentinel file was changed');
  return problems;
}

/** Lookups the mirror answers itself, so never passes through: it asks for them only with valid names. */
const CACHED_API = /^\/api\/(?:repos\/hexpm\/)?packages(?:\/[^/]*(?:\/releases\/[^/]*)?)?$/;

/**
 * Other API calls are passed through as they came (any method), restated: under /api/, of
 * bounded length, and with no segment that the URL parser would resolve away or that hides a
 * separator or NUL, so nothing leaves the upstream's API.
 */
function isPassThrough(method: string, path: string): boolean {
  if (!path.startsWith('/api/') || path.length > 2048) return false;
  if ((method === 'GET' || method === 'HEAD') && CACHED_API.test(path)) return false;
  return path.split('/').every((segment) => {
    try {
      const decoded = decodeURIComponent(segment);
      return decoded !== '.' && decoded !== '..' && !/[\0/\\]/.test(decoded);
    } catch {
      return false;
    }
  });
}

function upstreamViolations(upstream: FakeUpstream): string[] {
  return upstream.requests
    .filter((r) => !isPassThrough(r.method, r.path) && ((r.method !== 'GET' && r.method !== 'HEAD') || !isWellFormedUpstreamPath(r.path)))
    .map((r) => `upstream asked for ${r.method} ${r.url}`);
}

const text = (body: Buffer) => body.toString('latin1');

// ---------------------------------------------------------------- raw sockets

interface RawConnection {
  socket: Socket;
  connected: Promise<void>;
  /** Everything the server sent so far, as latin1 text. */
  received(): string;
  /** Settles when the connection closes: ms since connect, the first line the server sent. */
  closed: Promise<{ afterMs: number; firstLine: string; error?: string }>;
  /** Date.now() when a whole response head and body had arrived (0 before). */
  respondedAt(): number;
}

/** A plain TCP connection, for what node's HTTP client will not send (or send slowly enough). */
function rawConnect(base: string): RawConnection {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  sockets.add(socket);
  let data = '';
  let respondedAt = 0;
  let connectedAt = Date.now();
  let error: string | undefined;
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      connectedAt = Date.now();
      resolve();
    });
    socket.once('error', reject);
  });
  connected.catch(() => undefined);
  socket.on('data', (chunk: Buffer) => {
    data += chunk.toString('latin1');
    const end = data.indexOf('\r\n\r\n');
    const length = /\r\ncontent-length: *(\d+)/i.exec(data.slice(0, end));
    if (!respondedAt && end !== -1 && length && data.length >= end + 4 + Number(length[1])) respondedAt = Date.now();
  });
  socket.on('error', (e) => (error = e.message));
  const closed = new Promise<{ afterMs: number; firstLine: string; error?: string }>((resolve) =>
    socket.once('close', () => resolve({ afterMs: Date.now() - connectedAt, firstLine: data.split('\r\n')[0] ?? '', ...(error ? { error } : {}) })),
  );
  return { socket, connected, received: () => data, closed, respondedAt: () => respondedAt };
}

/** Sends bytes on a fresh connection and returns the status line's code and all that came back. */
async function rawExchange(base: string, bytes: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  const conn = rawConnect(base);
  await conn.connected;
  conn.socket.write(Buffer.from(bytes, 'latin1'));
  const timer = setTimeout(() => conn.socket.destroy(), timeoutMs);
  await conn.closed;
  clearTimeout(timer);
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(conn.received());
  return { status: match ? Number(match[1]) : 0, text: conn.received() };
}

async function eventually<T>(attempt: () => Promise<T>, ok: (value: T) => boolean, deadlineMs = 3000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = await attempt();
    if (ok(value) || Date.now() > until) return value;
    await sleep(50);
  }
}

// ---------------------------------------------------------------- 1. paths and names

describe('hostile paths and names', () => {
  it('refuses traversal, encoded separators, NUL, overlong, uppercase and unicode names on every route family', async () => {
    const box = await sandbox();
    const url = box.mirror.url;
    const long = 'a'.repeat(10_000);
    const up = (n: number) => '..%2f'.repeat(n) + SECRET_FILE;
    // The legitimate neighbours first: the refusals below must not be a mirror that refuses everything.
    const legit: [string, Buffer][] = [
      ['/packages/leaf', repo.packageBody('leaf')!],
      ['//packages//leaf', repo.packageBody('leaf')!],
      ['/tarballs/leaf-1.1.0-rc.1+build.7.tar', repo.tarball('leaf', '1.1.0-rc.1+build.7')!],
      ['/tarballs/leaf-1.1.0-rc.1%2Bbuild.7.tar', repo.tarball('leaf', '1.1.0-rc.1+build.7')!],
      ['/docs/leaf-1.0.0.tar.gz', repo.docs('leaf', '1.0.0')!],
      ['/api/packages/leaf/releases/1.1.0-rc.1+build.7/download', repo.tarball('leaf', '1.1.0-rc.1+build.7')!],
    ];
    const refused: Record<string, string[]> = {
      '/packages/NAME': [
        '..',
        '%2e%2e',
        '%2E%2E/..',
        up(3),
        '..%5c..%5c' + SECRET_FILE,
        'leaf%00',
        'leaf%00.txt',
        '%00',
        long,
        'LEAF',
        'Leaf',
        '%C3%A9t%C3%A9',
        'leaf%2f..',
        'le%2Faf',
        'leaf/..',
        '.%2e/' + SECRET_FILE,
        'leaf+1',
        '%2e',
      ],
      '/tarballs/NAME-VERSION.tar': [
        up(3),
        '..%2f..%2fleaf-1.0.0.tar',
        'leaf-1.0.0.tar%00',
        'leaf-1.0.0%00.tar',
        'leaf-..%2f..%2fx.tar',
        'leaf-1.0.0%2f..%2f..%2fx.tar',
        'LEAF-1.0.0.tar',
        'leaf-1.0.0+%2e%2e.tar',
        'leaf-1.0.0+build%2f..%2f..%2fx.tar',
        'leaf-1.0.0+build%5c..%5cx.tar',
        `leaf-${long}.tar`,
        `${long}-1.0.0.tar`,
        'leaf-1.0.0-%CE%B1.tar',
        'leaf-1.0.0',
        'leaf-01.0.0.tar',
        'leaf-1.0.0.tar/..',
      ],
      '/docs/NAME-VERSION.tar.gz': [
        up(3),
        'leaf-1.0.0.tar.gz%00',
        'leaf-1.0.0%2f..%2f..%2fx.tar.gz',
        '..%5c..%5cx.tar.gz',
        'LEAF-1.0.0.tar.gz',
        `leaf-1.0.0+${long}.tar.gz`,
        'leaf-1.0.0-%F0%9F%92%A9.tar.gz',
        'leaf-1.0.0.tar',
      ],
      '/names': ['/..', '/../' + SECRET_FILE, '%2f..%2f' + SECRET_FILE, '/%2e%2e/%2e%2e/' + SECRET_FILE, '%00', '/' + long],
      '/versions': ['/..', '%2f..%2f..%2f' + SECRET_FILE, '%5c..%5c' + SECRET_FILE, '.json'],
      '/public_key': ['/..', '%2f..%2f..%2f' + SECRET_FILE, '%00', '/%2e%2e'],
      '/installs/...': [
        '../../' + SECRET_FILE,
        '%2e%2e/%2e%2e/%2e%2e/' + SECRET_FILE,
        up(4),
        'a%5c..%5c..%5c' + SECRET_FILE,
        '.hidden',
        'a/b/c/d/e',
        'hex.csv%00',
        '%00',
        long,
        'a/%2e%2e/%2e%2e/' + SECRET_FILE,
        '%C3%A9.csv',
        'a//../../' + SECRET_FILE,
      ],
      '/api/packages/NAME': [
        '..',
        up(3),
        'LEAF',
        'leaf%00',
        long,
        'leaf/releases/..%2f..%2f' + SECRET_FILE,
        'leaf/releases/1.0.0%2f..%2f..',
        'leaf/releases/%2e%2e',
        'leaf/releases/1.0.0/download/..',
        'leaf/releases/1.0.0%00/docs/download',
        'leaf/releases/1.0.0.TAR/download',
        '%C3%A9/releases/1.0.0',
      ],
      '/ and /assets/': [
        '/..%2f..%2f' + SECRET_FILE,
        '/%2e%2e/%2e%2e/' + SECRET_FILE,
        '/index.html%00',
        '/assets/..%2f..%2fpackage.json',
        '/assets/%2e%2e/%2e%2e/%2e%2e/' + SECRET_FILE,
        '/assets/..%5c..%5cpackage.json',
        '/assets/' + long,
        '/index.html/..%2f..%2f' + SECRET_FILE,
      ],
    };
    const familyPrefix: Record<string, string> = {
      '/packages/NAME': '/packages/',
      '/tarballs/NAME-VERSION.tar': '/tarballs/',
      '/docs/NAME-VERSION.tar.gz': '/docs/',
      '/names': '/names',
      '/versions': '/versions',
      '/public_key': '/public_key',
      '/installs/...': '/installs/',
      '/api/packages/NAME': '/api/packages/',
      '/ and /assets/': '',
    };
    // The control API: no token gets 401 (or the router's 414 for an overlong parameter, which
    // comes before any route); with the token, a bad name is a 400 and an unknown route a 404;
    // a rebinding Host is refused even with the token.
    const control = [
      '/status%00',
      '/..%2fstatus',
      '/cache/..',
      '/cache/%2e%2e',
      '/cache/' + up(3),
      '/cache/LEAF',
      '/cache/leaf/..%2f..',
      '/cache/leaf/%2e%2e',
      '/cache/' + long,
      '/jobs/..%2f..%2f' + SECRET_FILE,
      '/jobs/%00',
      '/settings/..',
      '/setup/..%2f..',
    ];

    const problems: string[] = [];
    const check = (what: string, reply: Reply, allowed: number[]) => {
      if (!allowed.includes(reply.status)) problems.push(`${what} → ${reply.status} ${reply.error ?? ''} ${text(reply.body).slice(0, 120)}`);
      if (text(reply.body).includes(SECRET)) problems.push(`${what} → served the sentinel`);
    };
    for (const [path, bytes] of legit) {
      const reply = await httpGet(url, path);
      if (reply.status !== 200 || !reply.body.equals(bytes)) problems.push(`legit ${path} → ${reply.status}, ${reply.body.length} bytes`);
    }
    for (const [family, suffixes] of Object.entries(refused)) {
      for (const suffix of suffixes)
        check(`${family}: ${familyPrefix[family]}${suffix.slice(0, 60)}`, await httpGet(url, familyPrefix[family] + suffix), [400, 404, 414]);
    }
    const good = `127.0.0.1:${box.port}`;
    for (const path of control) {
      const full = `${API_PREFIX}${path}`;
      check(`no token ${full.slice(0, 60)}`, await httpGet(url, full), [401, 404, 414]);
      check(`token ${full.slice(0, 60)}`, await httpGet(url, full, { headers: { [TOKEN_HEADER]: box.mirror.engine.token, host: good } }), [400, 404, 414]);
      check(
        `rebinding ${full.slice(0, 60)}`,
        await httpGet(url, full, { headers: { [TOKEN_HEADER]: box.mirror.engine.token, host: `evil.example:${box.port}` } }),
        [403, 404, 414],
      );
    }
    // Duplicate slashes are collapsed before routing: they reach the guard like any other call.
    for (const path of [`${API_PREFIX}//status`, `/${API_PREFIX}/status`, `${API_PREFIX}/status/`]) {
      check(`no token ${path}`, await httpGet(url, path), [401, 404]);
      check(
        `rebinding ${path}`,
        await httpGet(url, path, { headers: { [TOKEN_HEADER]: box.mirror.engine.token, host: `evil.example:${box.port}` } }),
        [403, 404],
      );
    }
    // The dashboard page carries the token: only this server's own Host may have it.
    const page = await httpGet(url, '/', { headers: { host: `evil.example:${box.port}` } });
    check('dashboard with a rebinding Host', page, [403]);
    if (text(page.body).includes(box.mirror.engine.token)) problems.push('dashboard gave the token to a rebinding Host');

    expect(problems).toEqual([]);
    expect(upstreamViolations(box.upstream)).toEqual([]);
    expect(await diskViolations(box)).toEqual([]);
  });

  it('answers request targets that only a raw socket can send with a 4xx, never a 5xx', async () => {
    const box = await sandbox();
    const refuse = [400, 404];
    const targets: { target: string; allowed: number[]; host?: string }[] = [
      { target: '/packages/leaf\x00', allowed: refuse },
      { target: '/packages/le\x01af', allowed: refuse },
      { target: '/packages/le af', allowed: refuse },
      { target: '/packages/l\xe9af', allowed: refuse },
      { target: '/packages/l\xc3\xa9af', allowed: refuse },
      { target: '/installs/..\\..\\' + SECRET_FILE, allowed: refuse },
      { target: '/tarballs/..\\..\\' + SECRET_FILE, allowed: refuse },
      { target: SECRET_FILE, allowed: refuse },
      { target: '../' + SECRET_FILE, allowed: refuse },
      { target: `http://127.0.0.1:${box.port}/../../${SECRET_FILE}`, allowed: refuse },
      { target: `http://evil.example/packages/..%2f..%2f${SECRET_FILE}`, allowed: refuse },
      { target: '/packages/leaf\t', allowed: refuse },
      // The router reads "*" as "/": the dashboard page (its sign-in page without a session), behind the same Host check.
      { target: '*', allowed: [401, ...refuse] },
      { target: '*', allowed: [403, ...refuse], host: `evil.example:${box.port}` },
      // A fragment is not part of the path: this is /packages/leaf.
      { target: '/packages/leaf#/../../' + SECRET_FILE, allowed: [200, ...refuse] },
    ];
    const problems: string[] = [];
    for (const { target, allowed, host } of targets) {
      for (const method of ['GET', 'HEAD', 'OPTIONS']) {
        const reply = await rawExchange(
          box.mirror.url,
          `${method} ${target} HTTP/1.1\r\nHost: ${host ?? `127.0.0.1:${box.port}`}\r\nConnection: close\r\n\r\n`,
        );
        const what = `${method} ${JSON.stringify(target)}${host ? ` Host ${host}` : ''}`;
        if (!allowed.includes(reply.status)) problems.push(`${what} → ${reply.status} ${reply.text.split('\r\n')[0]}`);
        if (reply.text.includes(SECRET)) problems.push(`${what} → served the sentinel`);
        if (host && reply.text.includes(box.mirror.engine.token)) problems.push(`${what} → gave the token to a rebinding Host`);
      }
    }
    // A bare LF, HTTP/1.1 without a Host header, an unknown version: refused. A request line
    // without a version is read as HTTP/0.9-style and served (it is a plain GET /names).
    for (const [bytes, allowed] of [
      ['GET /names HTTP/1.1\n\n', [0, 400]],
      ['GET /names HTTP/1.1\r\nConnection: close\r\n\r\n', [400]],
      ['GET /names HTTP/9.9\r\n\r\n', [0, 400, 505]],
      ['GET /names\r\n\r\n', [0, 200, 400]],
    ] as const) {
      const reply = await rawExchange(box.mirror.url, bytes);
      if (!(allowed as readonly number[]).includes(reply.status)) problems.push(`${JSON.stringify(bytes)} → ${reply.status}`);
    }
    expect(problems).toEqual([]);
    expect((await httpGet(box.mirror.url, '/packages/leaf')).status).toBe(200);
    expect(upstreamViolations(box.upstream)).toEqual([]);
    expect(await diskViolations(box)).toEqual([]);
  });
});

// ---------------------------------------------------------------- 2. fuzzing

// HEXHUB_FUZZ_SEED / HEXHUB_FUZZ_RUNS reproduce or widen a run; the defaults are what CI runs.
const FUZZ_SEED = Number(process.env.HEXHUB_FUZZ_SEED ?? 20_260_611);
const FUZZ_RUNS = Number(process.env.HEXHUB_FUZZ_RUNS ?? 10_000);
const FUZZ_CONCURRENCY = 16;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

interface Outcome {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  error?: string;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const charsFrom = (codes: fc.Arbitrary<number>, maxLength: number, minLength = 0) =>
  fc.string({ unit: codes.map((c) => String.fromCharCode(c)), minLength, maxLength });

/**
 * Requests built from pieces that matter to a path-handling bug: real and plausible names
 * and versions, traversal in every spelling, percent-encodings (good, broken, double), raw
 * bytes the client may send, unicode, overlong runs, and the headers clients vary.
 */
function fuzzRequests(port: number, token: string): fc.Arbitrary<FuzzRequest> {
  const name = fc.oneof(fc.constantFrom('leaf', 'app', 'nosuchpkg'), fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), fc.mixedCase(fc.constantFrom('leaf', 'app')));
  const version = fc.oneof(
    fc.constantFrom('1.0.0', '1.1.0-rc.1+build.7', '1.1.0-rc.1%2Bbuild.7', '2.0.0'),
    fc.stringMatching(/^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})(-[0-9A-Za-z-]{1,6}(\.[0-9A-Za-z-]{1,6})?)?(\+[0-9A-Za-z-]{1,6})?$/),
  );
  const releaseFile = fc
    .tuple(
      name,
      fc.constantFrom('-', '-', '-', '--', '', '%2d'),
      version,
      fc.constantFrom('.tar', '.tar', '.tar.gz', '.tar.gz', '.TAR', '.tar%00', '', '.tar/..', '.tar%2f..'),
    )
    .map((parts) => parts.join(''));
  const traversal = fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2E%2E',
    '.%2e',
    '%2e.',
    '..%2f',
    '..%5c',
    '%2f',
    '%5C',
    '\\',
    '..\\',
    '%00',
    '%2500',
    '%252e%252e',
    '%c0%ae%c0%ae',
    '%c0%af',
    '..;',
    '%u002e%u002e',
    SECRET_FILE,
    `..%2f..%2f..%2f${SECRET_FILE}`,
    `%2e%2e%2f%2e%2e%2f%2e%2e%2f${SECRET_FILE}`,
    `..\\..\\..\\${SECRET_FILE}`,
    '..%00',
    '~',
    'index.html',
    'token',
    'index.json',
    'index.jsonl',
    'settings.json',
  );
  const percentByte = fc.integer({ min: 0, max: 255 }).map((b) => `%${hex2(b)}`);
  const brokenPercent = fc.constantFrom('%', '%z', '%g0', '%%', '%1', '%%32%65');
  const printable = charsFrom(fc.integer({ min: 0x21, max: 0x7e }), 12, 1);
  const highBytes = charsFrom(fc.integer({ min: 0x80, max: 0xff }), 3, 1);
  const unicode = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }).map(encodeURIComponent);
  const long = fc
    .tuple(fc.constantFrom('a', '.', '%2e', '..%2f', '%C3%A9', '1'), fc.constantFrom(129, 1000, 8192, 8193, 10_000))
    .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));
  const atom = fc.oneof(
    { weight: 5, arbitrary: name },
    { weight: 2, arbitrary: version },
    { weight: 4, arbitrary: releaseFile },
    { weight: 5, arbitrary: traversal },
    { weight: 2, arbitrary: percentByte },
    { weight: 1, arbitrary: brokenPercent },
    { weight: 2, arbitrary: printable },
    { weight: 1, arbitrary: highBytes },
    { weight: 1, arbitrary: unicode },
    { weight: 1, arbitrary: long },
    { weight: 1, arbitrary: fc.constant('') },
  );
  const segment = fc.array(atom, { minLength: 1, maxLength: 3 }).map((atoms) => atoms.join(''));
  const prefix = fc.constantFrom(
    '/packages/',
    '/tarballs/',
    '/docs/',
    '/names',
    '/versions',
    '/public_key',
    '/installs/',
    '/api/packages/',
    '/api/packages/leaf/releases/',
    '/-/api/',
    '/-/api/cache/',
    '/-/api/jobs/',
    '/-/api/setup',
    '/-/api/events',
    '/',
    '//',
    '/assets/',
    '/index.html',
    '/metrics',
    '/repos/',
  );
  const separator = fc.constantFrom('/', '/', '/', '//', '%2f', '%5c', '\\', '/./', '/../');
  // At most one query pair: a repeated key is the known catalog bug, tested on its own below.
  const query = fc.option(
    fc
      .tuple(fc.constantFrom('q', 'sort', 'order', 'page', 'pageSize', 'mirrorUrl', 'token', 'x', '__proto__'), fc.oneof(segment, fc.constant(token)))
      .map(([k, v]) => `?${k}=${v}`),
    { nil: '', freq: 3 },
  );
  const path = fc.tuple(prefix, fc.array(segment, { maxLength: 4 }), separator, query).map(([start, segments, sep, q]) => start + segments.join(sep) + q);

  const headerText = charsFrom(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09), fc.integer({ min: 0x80, max: 0xff })), 40);
  const own = [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`];
  const host = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...own) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '127.0.0.1',
        `evil.example:${port}`,
        'evil.example',
        `127.0.0.1:${port}.evil.example`,
        `127.0.0.1:${port}@evil.example`,
        `127.0.0.1:${port + 1}`,
        'a'.repeat(300),
      ),
    },
    { weight: 1, arbitrary: headerText },
  );
  const origin = fc.oneof(
    fc.constantFrom(
      'null',
      'https://evil.example',
      `https://127.0.0.1:${port}`,
      `http://127.0.0.1:${port + 1}`,
      'http://127.0.0.1',
      ...own.map((h) => `http://${h}`),
    ),
    headerText,
  );
  const etag = fc.oneof(fc.constantFrom('*', 'W/"x"', '""', '"', ',,,', `${'"a", '.repeat(2000)}"b"`), fc.stringMatching(/^"[0-9a-f]{0,64}"$/), headerText);
  const range = fc.oneof(
    fc.constantFrom('bytes=0-10', 'bytes=-1', 'bytes=999999999-', 'bytes=5-1', 'bytes=0-0,-1', `bytes=${'0-1,'.repeat(2000)}0-1`, 'items=0-1', 'bytes=--'),
    headerText,
  );
  const accept = fc.oneof(
    fc.constantFrom(
      'application/vnd.hex+erlang',
      'application/json',
      '*/*',
      'text/html',
      'text/event-stream',
      'application/vnd.hex+erlang;q=0, application/json',
    ),
    headerText,
  );
  const tokenHeader = fc.constantFrom(token, token, `${token}x`, token.slice(1), 'x'.repeat(token.length), token.toUpperCase());
  const headers = fc
    .record(
      {
        host,
        origin,
        'if-none-match': etag,
        range,
        accept,
        [TOKEN_HEADER]: tokenHeader,
        'sec-fetch-site': fc.constantFrom('cross-site', 'same-origin', 'none'),
        'x-forwarded-host': fc.constantFrom('evil.example', `127.0.0.1:${port}`),
      },
      { requiredKeys: [] },
    )
    .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>);
  const method = fc.oneof(
    { weight: 14, arbitrary: fc.constant('GET') },
    { weight: 3, arbitrary: fc.constant('HEAD') },
    { weight: 3, arbitrary: fc.constantFrom('OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND') },
  );
  return fc.tuple(method, path, headers).map(([m, p, h]) => {
    // Only GET carries the token. A write that got through would change state this test does
    // not set out to change (and machine setup writes outside the data dir); HEAD on the event
    // stream hangs, a known bug tested on its own below.
    if (m === 'GET') return { method: m, path: p, headers: h };
    delete h[TOKEN_HEADER];
    return { method: m, path: p.split(token).join('x'), headers: h };
  });
}

/** One request over the shared keep-alive agent; an event stream is cut once its head is in. */
function send(agent: Agent, base: URL, req: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve) => {
    const done = (outcome: Outcome) => resolve(outcome);
    let client;
    try {
      client = httpRequest({ host: base.hostname, port: base.port, agent, method: req.method, path: req.path, headers: req.headers }, (res) => {
        const head = { status: res.statusCode ?? 0, headers: res.headers };
        if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.destroy();
          done({ ...head, body: Buffer.alloc(0) });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done({ ...head, body: Buffer.concat(chunks) }));
        res.on('error', (error) => done({ ...head, body: Buffer.concat(chunks), error: error.message }));
        res.on('aborted', () => done({ ...head, body: Buffer.concat(chunks), error: 'aborted' }));
      });
    } catch (error) {
      // The generator must only build what node's client sends: a throw here is a test bug.
      done({ status: -1, headers: {}, body: Buffer.alloc(0), error: `client refused to send it: ${(error as Error).message}` });
      return;
    }
    client.setTimeout(10_000, () => client.destroy(new Error('no answer within 10 s')));
    client.on('error', (error) => done({ status: 0, headers: {}, body: Buffer.alloc(0), error: error.message }));
    client.end();
  });
}

describe('fuzzed requests', () => {
  // Longer than the others: 10,000 requests on 2 busy cores, with other test files running.
  it(`survives ${FUZZ_RUNS} generated requests over keep-alive connections (seed ${FUZZ_SEED})`, { timeout: 120_000 }, async () => {
    const box = await sandbox();
    const token = box.mirror.engine.token;
    const base = new URL(box.mirror.url);
    const own = new Set([`127.0.0.1:${box.port}`, `localhost:${box.port}`, `[::1]:${box.port}`]);
    // The access rules, restated: what may see the token (the dashboard page) and control data.
    const passesOriginCheck = (h: Record<string, string>) => {
      const host = (h.host === undefined || h.host === '' ? `127.0.0.1:${box.port}` : h.host).trim().toLowerCase();
      const origin = h.origin?.trim();
      const originOk = origin === undefined || (origin !== 'null' && own.has(origin.replace(/^http:\/\//, '').toLowerCase()));
      return own.has(host) && originOk && h['sec-fetch-site'] !== 'cross-site';
    };
    const authorized = (h: Record<string, string>) => passesOriginCheck(h) && h[TOKEN_HEADER] === token;
    const ALLOWED = new Set([200, 304, 400, 401, 403, 404, 414, 422, 431]);
    const violation = (req: FuzzRequest, out: Outcome): string | undefined => {
      if (!ALLOWED.has(out.status)) return `status ${out.status}${out.error ? ` (${out.error})` : ''}: ${text(out.body).slice(0, 160)}`;
      if (out.error) return `transport error after ${out.status}: ${out.error}`;
      const body = text(out.body);
      if (body.includes(SECRET)) return 'served the sentinel file';
      // (A 404 names the path it was asked for, so a token the request put in its own path comes back.)
      if (body.includes(token) && !req.path.includes(token) && !passesOriginCheck(req.headers))
        return 'served the token to a request that fails the Host/Origin checks';
      if (body.includes(box.root) && !authorized(req.headers)) return 'served control data (the data dir path) without the token';
      if (out.headers['access-control-allow-origin'] !== undefined) return 'sent a CORS header';
      return undefined;
    };

    const requests = fc.sample(fuzzRequests(box.port, token), { seed: FUZZ_SEED, numRuns: FUZZ_RUNS });
    const agent = new Agent({ keepAlive: true, maxSockets: FUZZ_CONCURRENCY });
    cleanups.push(async () => agent.destroy());
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const knownGood = async (when: string) => {
      const reply = await httpGet(box.mirror.url, '/packages/leaf');
      if (reply.status !== 200 || !reply.body.equals(repo.packageBody('leaf')!))
        failures.push(`known-good request ${when} → ${reply.status} ${reply.error ?? ''}`);
    };
    // In rounds, so the known-good request also runs in the middle of the storm.
    const ROUND = 1000;
    for (let start = 0; start < requests.length; start += ROUND) {
      const round = requests.slice(start, start + ROUND);
      let next = 0;
      await Promise.all(
        Array.from({ length: FUZZ_CONCURRENCY }, async () => {
          while (next < round.length) {
            const index = start + next;
            const req = round[next++]!;
            // Every request gets an answer node's own client can read, over a reused keep-alive
            // connection: a refused request must close its connection cleanly (a regression test
            // below covers why), so status 0 (no answer) is a violation like any other.
            const out = await send(agent, base, req);
            statuses.set(out.status, (statuses.get(out.status) ?? 0) + 1);
            const problem = violation(req, out);
            if (problem) failures.push(`#${index} ${req.method} ${req.path.slice(0, 200)} ${JSON.stringify(req.headers).slice(0, 300)}\n    → ${problem}`);
          }
        }),
      );
      await knownGood(`after request #${start + round.length - 1}`);
    }
    const reproduce = `fuzz seed ${FUZZ_SEED}, ${FUZZ_RUNS} runs (HEXHUB_FUZZ_SEED=${FUZZ_SEED} npx vitest run test/integration/hostile-input.test.ts -t fuzzed); statuses ${JSON.stringify(Object.fromEntries(statuses))}`;
    expect(failures.slice(0, 25), reproduce).toEqual([]);
    expect(requests.length).toBe(FUZZ_RUNS);
    const tarball = await httpGet(box.mirror.url, '/tarballs/leaf-1.0.0.tar');
    expect(tarball.status, reproduce).toBe(200);
    expect(tarball.body.equals(repo.tarball('leaf', '1.0.0')!)).toBe(true);

    expect(upstreamViolations(box.upstream), reproduce).toEqual([]);
    // Stopped first, so the index is written and nothing is half-way.
    await box.mirror.stop();
    expect(await diskViolations(box), reproduce).toEqual([]);
  });
});

// ---------------------------------------------------------------- 3. oversized and malformed

describe('oversized and malformed requests', () => {
  it('answers headers over 16 KiB with 431 and goes on serving others', async () => {
    const box = await sandbox();
    const url = box.mirror.url;
    const one = await httpGet(url, '/packages/leaf', { headers: { 'x-big': 'a'.repeat(17 * 1024) } });
    expect(one.status).toBe(431);
    const many: Record<string, string> = {};
    for (let i = 0; i < 300; i++) many[`x-h${i}`] = 'v'.repeat(60);
    expect((await httpGet(url, '/names', { headers: many })).status).toBe(431);
    // The request line counts too.
    expect((await httpGet(url, `/packages/${'a'.repeat(17 * 1024)}`)).status).toBe(431);
    expect((await httpGet(url, `${API_PREFIX}/status`, { headers: { [TOKEN_HEADER]: 'x'.repeat(20 * 1024) } })).status).toBe(431);
    // Just under the limit is still a normal request.
    const under = await httpGet(url, '/packages/leaf', { headers: { 'x-big': 'a'.repeat(12 * 1024) } });
    expect(under.status).toBe(200);
    // Others, on their own connections and at the same time, are served.
    const mixed = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 ? httpGet(url, '/packages/leaf', { headers: { 'x-big': 'b'.repeat(32 * 1024) } }) : httpGet(url, '/packages/leaf'),
      ),
    );
    expect(mixed.map((r) => r.status)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 ? 431 : 200)));
    expect(upstreamViolations(box.upstream)).toEqual([]);
  });

  // 2 MiB and malformed PATCH /settings bodies are in control-api.test.ts; these are the others.
  it('answers oversized control bodies with 413 (streamed, or announced and never sent) and malformed JSON with 400', async () => {
    const box = await sandbox();
    const base = new URL(box.mirror.url);
    const token = box.mirror.engine.token;
    const before = box.mirror.engine.settings();
    const call = (method: string, path: string, body: string | ((req: import('node:http').ClientRequest) => void), headers: Record<string, string> = {}) =>
      new Promise<{ status: number; json: { error?: string; message?: string } }>((resolve) => {
        const req = httpRequest(
          {
            host: base.hostname,
            port: base.port,
            method,
            path: `${API_PREFIX}${path}`,
            agent: false,
            headers: { [TOKEN_HEADER]: token, 'content-type': 'application/json', ...headers },
          },
          (res) => {
            let data = '';
            res.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, json: data ? (JSON.parse(data) as { error?: string; message?: string }) : {} }));
          },
        );
        // The server may answer and close before a streamed body is all sent.
        req.on('error', () => undefined);
        if (typeof body === 'string') req.end(body);
        else body(req);
      });

    // 2.5 MiB in chunks with no Content-Length: the limit applies to what arrives, not to what is announced.
    const streamed = await call('POST', '/jobs', (req) => {
      let sent = 0;
      const pump = () => {
        while (sent < 40 && !req.destroyed) {
          sent++;
          if (!req.write('x'.repeat(64 * 1024))) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(streamed).toEqual({ status: 413, json: { error: 'too_large', message: expect.stringMatching(/too large/i) } });
    // A Content-Length over the limit is refused before the body is waited for.
    const announced = await call('PATCH', '/settings', '{}', { 'content-length': String(5 * 1024 * 1024) });
    expect(announced.status).toBe(413);
    expect(announced.json.error).toBe('too_large');

    const malformed = await call('POST', '/jobs', '{"packages": [}');
    expect(malformed.status).toBe(400);
    expect(malformed.json).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/JSON/) });
    const empty = await call('PATCH', '/settings', '');
    expect(empty.status).toBe(400);
    expect(empty.json.message).toMatch(/empty/i);
    // Prototype poisoning is refused by the parser, not merged into anything.
    const poisoned = await call('PATCH', '/settings', '{"__proto__": {"upstreamEnabled": false}}');
    expect(poisoned.status).toBe(400);
    expect(({} as Record<string, unknown>).upstreamEnabled).toBeUndefined();
    // Deep nesting is parsed without blowing the stack, then refused as not being settings.
    const deepArray = await call('PATCH', '/settings', '['.repeat(100_000) + ']'.repeat(100_000));
    expect(deepArray.status).toBe(422);
    expect(deepArray.json.error).toBe('validation_failed');
    const deepObject = await call('PATCH', '/settings', '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000));
    expect(deepObject.status).toBe(422);

    expect(box.mirror.engine.settings()).toEqual(before);
    expect((await httpGet(box.mirror.url, '/packages/leaf')).status).toBe(200);
    expect(box.mirror.engine.jobs.list()).toEqual([]);
  });
});

// ---------------------------------------------------------------- 4. slow clients

describe('slow clients', () => {
  it('cuts 200 slowloris connections at the headers timeout while other clients are served', async () => {
    const box = await sandbox({ httpLimits: SMALL_LIMITS });
    const url = box.mirror.url;
    const token = box.mirror.engine.token;
    await httpGet(url, '/packages/leaf');
    const head = `GET /packages/leaf HTTP/1.1\r\nHost: 127.0.0.1:${box.port}\r\nX-Slow: ${'a'.repeat(10_000)}`;
    const slow = Array.from({ length: 200 }, () => rawConnect(url));
    // And a few that send a whole head, then trickle a body that never completes.
    const bodyHead = `PATCH ${API_PREFIX}/settings HTTP/1.1\r\nHost: 127.0.0.1:${box.port}\r\n${TOKEN_HEADER}: ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"upstreamEnabled":`;
    const slowBody = Array.from({ length: 20 }, () => rawConnect(url));
    await Promise.all([...slow, ...slowBody].map((c) => c.connected));
    for (const c of slowBody) c.socket.write(bodyHead);
    let position = 0;
    const trickle = setInterval(() => {
      const byte = head[position++ % head.length]!;
      for (const c of slow) if (!c.socket.destroyed) c.socket.write(byte);
      for (const c of slowBody) if (!c.socket.destroyed) c.socket.write(' ');
    }, 100);
    cleanups.push(async () => clearInterval(trickle));

    // Normal clients, on new connections, while the slow ones hold theirs.
    const normal: { status: number; ms: number; ok: boolean }[] = [];
    const allClosed = Promise.all([...slow, ...slowBody].map((c) => c.closed));
    let settled = false;
    void allClosed.then(() => (settled = true));
    while (!settled || normal.length < 10) {
      const started = Date.now();
      const reply = await httpGet(url, '/packages/leaf');
      normal.push({ status: reply.status, ms: Date.now() - started, ok: reply.body.equals(repo.packageBody('leaf')!) });
      await sleep(100);
    }
    const closes = await allClosed;
    clearInterval(trickle);

    expect(normal.filter((n) => n.status !== 200 || !n.ok || n.ms > 5000)).toEqual([]);
    // We never close them: each was closed by the server, with a 408 or just closed, within bounds.
    const late = (list: { afterMs: number; firstLine: string }[], boundMs: number) =>
      list.filter((c) => c.afterMs > boundMs || !(c.firstLine === '' || /^HTTP\/1\.1 408 /.test(c.firstLine)));
    expect(late(closes.slice(0, slow.length), 5000)).toEqual([]);
    expect(late(closes.slice(slow.length), 6000)).toEqual([]);
    // Not refused up front: they were held until their timeout (the head one, then the whole-request one).
    expect(Math.min(...closes.slice(0, slow.length).map((c) => c.afterMs))).toBeGreaterThanOrEqual(SMALL_LIMITS.headersTimeoutMs! - 100);
    expect(Math.min(...closes.slice(slow.length).map((c) => c.afterMs))).toBeGreaterThanOrEqual(SMALL_LIMITS.requestTimeoutMs! - 100);
    expect(box.mirror.engine.settings().values.upstreamEnabled).toBe(true);
  });
});

// ---------------------------------------------------------------- 5. idle connections

describe('idle connections', () => {
  it('closes 500 silent and 200 idle keep-alive connections on their timeouts and keeps serving new clients', async () => {
    const box = await sandbox({ httpLimits: SMALL_LIMITS });
    const url = box.mirror.url;
    await httpGet(url, '/names');
    const silent: RawConnection[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const opened = Array.from({ length: 100 }, () => rawConnect(url));
      await Promise.all(opened.map((c) => c.connected));
      silent.push(...opened);
    }
    const keepAlive = Array.from({ length: 200 }, () => rawConnect(url));
    await Promise.all(keepAlive.map((c) => c.connected));
    for (const c of keepAlive) c.socket.write(`GET /names HTTP/1.1\r\nHost: 127.0.0.1:${box.port}\r\n\r\n`);
    await eventually(
      async () => keepAlive.filter((c) => !c.respondedAt()).length,
      (left) => left === 0,
      5000,
    );

    const fresh = [];
    for (let i = 0; i < 20; i++) {
      const started = Date.now();
      const reply = await httpGet(url, '/names');
      fresh.push({ status: reply.status, ms: Date.now() - started });
    }
    expect(fresh.filter((r) => r.status !== 200 || r.ms > 5000)).toEqual([]);

    const silentCloses = await Promise.all(silent.map((c) => c.closed));
    const keepAliveCloses = await Promise.all(
      keepAlive.map(async (c) => ({ ...(await c.closed), sinceResponse: Date.now() - c.respondedAt(), response: c.received() })),
    );
    // Silent ones fall under the headers timeout; none outlives the idle-socket bound by much.
    expect(silentCloses.filter((c) => c.afterMs > 5000 || !(c.firstLine === '' || /^HTTP\/1\.1 408 /.test(c.firstLine)))).toEqual([]);
    // Keep-alive ones: one 200, nothing else, then closed no sooner than the keep-alive timeout.
    const wrong = keepAliveCloses.filter(
      (c) =>
        !/^HTTP\/1\.1 200 /.test(c.firstLine) ||
        c.response.split('HTTP/1.1 ').length !== 2 ||
        c.sinceResponse < SMALL_LIMITS.keepAliveTimeoutMs! - 50 ||
        c.sinceResponse > 5000,
    );
    expect(wrong.map((c) => ({ firstLine: c.firstLine, sinceResponse: c.sinceResponse }))).toEqual([]);
    expect((await httpGet(url, '/names')).status).toBe(200);
  });

  it('refuses connections beyond maxConnections and accepts again once the idle ones are reaped', async () => {
    // No request before the 50: a finished connection is only uncounted once the server has closed it.
    const box = await sandbox({ httpLimits: { ...SMALL_LIMITS, maxConnections: 50 } });
    const url = box.mirror.url;
    const idle = Array.from({ length: 50 }, () => rawConnect(url));
    await Promise.all(idle.map((c) => c.connected));
    // The server accepts in order, so the 51st is counted after all 50.
    const refused = await httpGet(url, '/names');
    expect(refused.status).toBe(0);
    expect(refused.error).toBeDefined();
    const extra = rawConnect(url);
    await extra.connected;
    extra.socket.write(`GET /names HTTP/1.1\r\nHost: 127.0.0.1:${box.port}\r\n\r\n`);
    const extraClosed = await extra.closed;
    expect(extraClosed.firstLine).toBe('');
    expect(extraClosed.afterMs).toBeLessThan(1000);

    const reaped = await Promise.all(idle.map((c) => c.closed));
    expect(reaped.filter((c) => c.afterMs > 5000)).toEqual([]);
    const again = await eventually(
      () => httpGet(url, '/names'),
      (r) => r.status === 200,
    );
    expect(again.status).toBe(200);
    expect(again.body.equals(repo.namesBody())).toBe(true);
  });
});

// ---------------------------------------------------------------- 6. control API

describe('control API refusals', () => {
  /** The mirror with the upstream URL changeable (not fixed by UPSTREAM_URL), saved in settings.json. */
  const settingsBox = () => sandbox({ env: { UPSTREAM_URL: '' }, saveUpstreamUrl: true });

  const patch = (box: Sandbox, body: unknown, headers: Record<string, string> = {}, path = `${API_PREFIX}/settings`) =>
    fetch(new URL(path, box.mirror.url), {
      method: 'PATCH',
      headers: { [TOKEN_HEADER]: box.mirror.engine.token, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }).then(async (res) => ({ status: res.status, json: (await res.json()) as { error?: string; message?: string; fields?: Record<string, string> } }));

  /** Through node:http, because fetch will not send a Host header of our choosing. */
  const patchRaw = async (box: Sandbox, body: unknown, headers: Record<string, string>) => {
    const payload = JSON.stringify(body);
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: box.port,
          method: 'PATCH',
          path: `${API_PREFIX}/settings`,
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
        },
        (res) => {
          let data = '';
          res.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    return { status: reply.status, json: JSON.parse(reply.body) as { error?: string; message?: string } };
  };

  const savedState = async (box: Sandbox) => ({ api: box.mirror.engine.settings(), file: await readFile(join(box.dataDir, 'settings.json'), 'utf8') });

  it('refuses a settings change without the token, with a wrong one, from a foreign Origin or a rebinding Host, and changes nothing', async () => {
    const box = await settingsBox();
    const token = box.mirror.engine.token;
    const before = await savedState(box);
    const change = { upstreamEnabled: false, upstreamUrl: 'http://evil.example' };
    const own = `127.0.0.1:${box.port}`;
    const cases: { why: string; headers: Record<string, string>; status: number; error: string }[] = [
      { why: 'no token', headers: { host: own }, status: 401, error: 'unauthorized' },
      { why: 'a wrong token of the right length', headers: { host: own, [TOKEN_HEADER]: 'x'.repeat(token.length) }, status: 401, error: 'unauthorized' },
      { why: 'the token minus a character', headers: { host: own, [TOKEN_HEADER]: token.slice(0, -1) }, status: 401, error: 'unauthorized' },
      {
        why: 'the token in another case',
        headers: { host: own, [TOKEN_HEADER]: token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase() },
        status: 401,
        error: 'unauthorized',
      },
      { why: 'a foreign Origin', headers: { host: own, [TOKEN_HEADER]: token, origin: 'https://evil.example' }, status: 403, error: 'forbidden' },
      {
        why: 'an Origin on another port',
        headers: { host: own, [TOKEN_HEADER]: token, origin: `http://127.0.0.1:${box.port + 1}` },
        status: 403,
        error: 'forbidden',
      },
      { why: 'an https Origin of this host', headers: { host: own, [TOKEN_HEADER]: token, origin: `https://${own}` }, status: 403, error: 'forbidden' },
      { why: 'a null Origin', headers: { host: own, [TOKEN_HEADER]: token, origin: 'null' }, status: 403, error: 'forbidden' },
      { why: 'a cross-site fetch', headers: { host: own, [TOKEN_HEADER]: token, 'sec-fetch-site': 'cross-site' }, status: 403, error: 'forbidden' },
      { why: 'a rebinding Host', headers: { host: `evil.example:${box.port}`, [TOKEN_HEADER]: token }, status: 403, error: 'forbidden' },
      { why: 'a rebinding Host without a port', headers: { host: 'evil.example', [TOKEN_HEADER]: token }, status: 403, error: 'forbidden' },
      { why: 'a look-alike Host', headers: { host: `127.0.0.1.evil.example:${box.port}`, [TOKEN_HEADER]: token }, status: 403, error: 'forbidden' },
      { why: 'this host on another port', headers: { host: `127.0.0.1:${box.port + 1}`, [TOKEN_HEADER]: token }, status: 403, error: 'forbidden' },
    ];
    const outcomes = [];
    for (const c of cases) {
      const reply = await patchRaw(box, change, c.headers);
      outcomes.push({ why: c.why, status: reply.status, error: reply.json.error, hasMessage: (reply.json.message ?? '').length > 10 });
    }
    expect(outcomes).toEqual(cases.map((c) => ({ why: c.why, status: c.status, error: c.error, hasMessage: true })));
    // Only the event stream may take the token from the query string.
    const query = await patch(box, change, { [TOKEN_HEADER]: '' }, `${API_PREFIX}/settings?token=${encodeURIComponent(token)}`);
    expect(query).toMatchObject({ status: 401, json: { error: 'unauthorized' } });
    const statusByQuery = await httpGet(box.mirror.url, `${API_PREFIX}/status?token=${encodeURIComponent(token)}`);
    expect(statusByQuery.status).toBe(401);

    expect(await savedState(box)).toEqual(before);
    expect(box.mirror.engine.settings().values.upstreamUrl).toBe(box.upstream.url);
    expect(await diskViolations(box, { settings: true })).toEqual([]);
  });

  it('refuses upstream URLs that are not plain http(s) URLs, field by field, and keeps the saved settings', async () => {
    const box = await settingsBox();
    const before = await savedState(box);
    const bad: unknown[] = [
      'ftp://x',
      'javascript:alert(1)',
      'http://',
      'https://',
      'gopher://evil.example/',
      'data:text/plain,hi',
      'file://localhost/etc/passwd',
      'ws://evil.example',
      '//evil.example',
      'evil.example',
      'http://user:pw@evil.example',
      'http://evil.example/?q=1',
      'http://evil.example/#x',
      'http://x\r\nHost: y',
      'http://a b',
      '',
      42,
      null,
      true,
      {},
      [],
    ];
    const outcomes = [];
    for (const value of bad) {
      const reply = await patch(box, { upstreamUrl: value });
      outcomes.push({ value, status: reply.status, error: reply.json.error, field: typeof reply.json.fields?.upstreamUrl });
    }
    expect(outcomes).toEqual(bad.map((value) => ({ value, status: 422, error: 'validation_failed', field: 'string' })));
    const scheme = await patch(box, { upstreamUrl: 'javascript:alert(1)' });
    expect(scheme.json.fields!.upstreamUrl).toMatch(/must be an http:\/\/ or https:\/\/ URL/);
    // One bad field refuses the whole change: the good one alongside is not applied either.
    const mixed = await patch(box, { upstreamUrl: 'ftp://x', registryTtlSeconds: 5 });
    expect(mixed.status).toBe(422);
    // The same rule for the setup page's mirror URL (POST ftp:// is in control-api.test.ts).
    for (const value of ['javascript:alert(1)', 'file:///etc/passwd', 'http://']) {
      const reply = await httpGet(box.mirror.url, `${API_PREFIX}/setup?mirrorUrl=${encodeURIComponent(value)}`, {
        headers: { [TOKEN_HEADER]: box.mirror.engine.token },
      });
      expect(reply.status, value).toBe(422);
      expect(JSON.parse(reply.body.toString()).fields.mirrorUrl).toEqual(expect.any(String));
    }
    expect(await savedState(box)).toEqual(before);

    // Any string at all: refused with a field message, or, if taken, a plain http(s) URL with a host.
    const urlish = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc
        .tuple(
          fc.constantFrom('http:', 'https:', 'HTTP:', 'ftp:', 'file:', 'javascript:', 'data:', 'blob:', 'about:', 'ws:', ''),
          fc.constantFrom('', '/', '//', '///', '\\\\'),
          fc.string({ maxLength: 30 }),
        )
        .map((p) => p.join('')),
    );
    await fc.assert(
      fc.asyncProperty(urlish, async (value) => {
        const reply = await patch(box, { upstreamUrl: value });
        if (reply.status === 422) {
          expect(reply.json.fields?.upstreamUrl).toEqual(expect.any(String));
          expect(box.mirror.engine.settings().values.upstreamUrl).toBe(box.upstream.url);
          return;
        }
        // A valid new upstream is held for confirmation, naming what it would become.
        expect(reply.status).toBe(409);
        const change = (reply.json as { upstreamChange: UpstreamChange }).upstreamChange;
        expect(box.mirror.engine.settings().values.upstreamUrl).toBe(box.upstream.url);
        expect((await patch(box, { upstreamUrl: value, confirmUpstreamChange: change.to })).status).toBe(200);
        const taken = new URL(box.mirror.engine.settings().values.upstreamUrl);
        expect(taken.href.replace(/\/$/, '')).toBe(change.to.url.replace(/\/$/, ''));
        expect(['http:', 'https:']).toContain(taken.protocol);
        expect(taken.hostname).not.toBe('');
        expect(taken.username + taken.password + taken.search + taken.hash).toBe('');
        expect((await patch(box, { upstreamUrl: box.upstream.url, confirmUpstreamChange: change.from })).status).toBe(200);
      }),
      { seed: FUZZ_SEED, numRuns: 150 },
    );
    expect(box.mirror.engine.settings().values.upstreamUrl).toBe(box.upstream.url);
    expect(await diskViolations(box, { settings: true })).toEqual([]);
  });
});

// ---------------------------------------------------------------- found by this suite, fixed

describe('bugs this suite found (regression tests)', () => {
  it('a repeated query key on GET /-/api/cache is a 400, not a 500 (catalog.ts calls .trim() on an array)', async () => {
    const box = await sandbox();
    const reply = await httpGet(box.mirror.url, `${API_PREFIX}/cache?q=a&q=b`, { headers: { [TOKEN_HEADER]: box.mirror.engine.token } });
    expect(reply.status).toBe(400);
  });

  // Fastify's default clientErrorHandler (node_modules/fastify/fastify.js, defaultClientErrorHandler)
  // writes its 400/431 without "Connection: close" and then destroys the socket; http-app.ts sets no
  // handler of its own. A keep-alive client (node's agent, Hex, rebar3) takes the connection as
  // reusable and its next request dies with "socket hang up" (the fuzz test above retries those).
  it('a request the HTTP parser refuses is answered with "Connection: close", so keep-alive clients drop the connection', async () => {
    const box = await sandbox();
    const host = `Host: 127.0.0.1:${box.port}\r\n`;
    for (const bytes of [`GET /packages/l\xe9af HTTP/1.1\r\n${host}\r\n`, `GET /names HTTP/1.1\r\n${host}X-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`]) {
      const reply = await rawExchange(box.mirror.url, bytes);
      expect([400, 431]).toContain(reply.status);
      expect(reply.text.slice(0, reply.text.indexOf('\r\n\r\n') + 2)).toMatch(/\r\nconnection: *close\r\n/i);
    }
  });

  // Same handler: the JSON body goes out even for HEAD, which a client reads as the start of the
  // next response ("Parse Error: Expected HTTP/").
  it('a HEAD request the HTTP parser refuses is answered without a body', async () => {
    const box = await sandbox();
    const reply = await rawExchange(box.mirror.url, `HEAD /packages/l\xe9af HTTP/1.1\r\nHost: 127.0.0.1:${box.port}\r\n\r\n`);
    expect(reply.status).toBe(400);
    expect(reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4)).toBe('');
  });

  // control-routes.ts, the /events route: writeHead() queues the head, and only the first body
  // write sends it; for HEAD node drops every write, so nothing is ever sent and the connection
  // and the event subscription stay until the socket times out. Found by the fuzz test.
  it('HEAD /-/api/events with the token is answered instead of hanging', async () => {
    const box = await sandbox();
    const conn = rawConnect(box.mirror.url);
    await conn.connected;
    conn.socket.write(`HEAD ${API_PREFIX}/events HTTP/1.1\r\nHost: 127.0.0.1:${box.port}\r\n${TOKEN_HEADER}: ${box.mirror.engine.token}\r\n\r\n`);
    await eventually(
      async () => conn.received(),
      (received) => received.includes('\r\n\r\n'),
      3000,
    );
    expect(conn.received()).toMatch(/^HTTP\/1\.1 (200|405) /);
  });

  it('a 10,000-character upstream URL is refused and the saved settings stay as they were', async () => {
    const box = await sandbox({ env: { UPSTREAM_URL: '' }, saveUpstreamUrl: true });
    const before = await readFile(join(box.dataDir, 'settings.json'), 'utf8');
    const reply = await fetch(new URL(`${API_PREFIX}/settings`, box.mirror.url), {
      method: 'PATCH',
      headers: { [TOKEN_HEADER]: box.mirror.engine.token, 'content-type': 'application/json' },
      body: JSON.stringify({ upstreamUrl: `https://${'a'.repeat(10_000)}.example` }),
    });
    expect(reply.status).toBe(422);
    expect(await readFile(join(box.dataDir, 'settings.json'), 'utf8')).toBe(before);
  });
});
