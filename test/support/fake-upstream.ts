// A fake repo.hex.pm (plus the few hex.pm API routes) over a real node:http server, serving
// a FixtureRepo the way the real thing does (protocol doc §1.1):
//
//   GET|HEAD /names  /versions  /packages/NAME          gzip(Signed) bodies, max-age=3600
//            /tarballs/NAME-VERSION.tar                 max-age=604800
//            /docs/NAME-VERSION.tar.gz                  max-age=86400
//            /public_key                                the repository PEM
//            /installs/...                              static CSV/.signed/binaries (setFile)
//            /api/packages/NAME[/releases/VERSION[/docs]]   JSON or application/vnd.hex+erlang
//            /api/packages?search=Q&sort=S&page=P           the package listing (100 a page), same types
//            (all also under /api/repos/hexpm/)
//   any other /api/ request, any method: an echo (JSON) of what arrived: method, path, query,
//     the headers that matter and the body's length and SHA-256 (the body itself is in
//     up.requests[i].body), with a Set-Cookie and a CORS header the mirror must not pass on.
//   up.apiHeaders: extra headers on every /api answer (e.g. x-hex-message).
//   - content-type application/octet-stream, quoted md5 ETag, Last-Modified, Cache-Control,
//     never Content-Encoding; If-None-Match → 304.
//   - unknown objects → 403 with an S3 AccessDenied XML body (the API answers 404 JSON).
//
// Usage:
//   const up = await startFakeUpstream(repo);
//   up.url                          'http://127.0.0.1:PORT'
//   up.requests / up.countRequests('/tarballs/') / up.countRequests(/^\/packages\/foo$/)
//   up.stop() / up.start()          connection refused, then back on the same port
//   up.close()                      final shutdown (use in afterAll/afterEach)
//
// Faults (up.fault.*): each call installs one fault, replacing an earlier one of the same
// kind, and returns a FaultHandle { kind, hits, remaining, clear() }. Every fault takes a
// FaultScope { path?: string prefix | RegExp (matched on the raw path without query),
// times?: number of requests it applies to, default unlimited (status503: 1) }.
//   latencyMs(ms)                delay before the response headers
//   hangMs(ms = 120_000)         delay headers past any sane client timeout
//   status503({retryAfter})      503 (+ Retry-After), `times` default 1, then recover
//   status(code, {body})         any other status (e.g. 500, 404, 429)
//   flap()                       every other matching request is a 503 (the first one fails)
//   down() / up()                = stop() / start()
//   truncate({afterBytes})       full Content-Length, then half (or afterBytes) and a clean close
//   reset({afterBytes})          same, but the socket is reset (TCP RST)
//   bytesPerSecond(n)            throttled body
//   oversized({totalBytes, chunked})  body padded to totalBytes (default 17 MiB); chunked → no Content-Length
//   badSignature()               registry bodies signed with otherKeys()
//   wrongPackage({serve})        /packages/NAME answers another package's record
//   wrongRepo({repository})      registry records for repository "evil" (default)
//   corruptTarball()             tarball with flipped bytes inside contents.tar.gz, same length
//   clear(kind?)                 remove one kind or everything
//   active()                     kinds currently installed
// Content faults (badSignature, wrongPackage, wrongRepo, corruptTarball) only apply, and only
// count, on 200 responses for paths they make sense for; a scope narrows that further.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeErlangTerm, FixtureRepo, otherKeys, signPayload, testKeys, type JsonLike, type PackageBodyOptions } from './hex-fixtures.js';

export type FaultKind =
  | 'latencyMs'
  | 'hangMs'
  | 'status503'
  | 'status'
  | 'flap'
  | 'truncate'
  | 'reset'
  | 'bytesPerSecond'
  | 'oversized'
  | 'badSignature'
  | 'wrongPackage'
  | 'wrongRepo'
  | 'corruptTarball';

export interface FaultScope {
  /** Path prefix (string) or pattern (RegExp) the fault applies to; default all applicable paths. */
  path?: string | RegExp;
  /** How many requests the fault affects before it removes itself; default unlimited. */
  times?: number;
}

export interface FaultHandle {
  readonly kind: FaultKind;
  /** Requests the fault has affected so far. */
  readonly hits: number;
  /** Requests it will still affect (Infinity when unlimited, 0 once spent or cleared). */
  readonly remaining: number;
  clear(): void;
}

export interface FaultControls {
  latencyMs(ms: number, scope?: FaultScope): FaultHandle;
  hangMs(ms?: number, scope?: FaultScope): FaultHandle;
  status503(opts?: FaultScope & { retryAfter?: number }): FaultHandle;
  status(code: number, opts?: FaultScope & { body?: string; headers?: Record<string, string> }): FaultHandle;
  flap(scope?: FaultScope): FaultHandle;
  down(): Promise<void>;
  up(): Promise<void>;
  truncate(opts?: FaultScope & { afterBytes?: number }): FaultHandle;
  reset(opts?: FaultScope & { afterBytes?: number }): FaultHandle;
  bytesPerSecond(rate: number, scope?: FaultScope): FaultHandle;
  oversized(opts?: FaultScope & { totalBytes?: number; chunked?: boolean }): FaultHandle;
  badSignature(scope?: FaultScope): FaultHandle;
  wrongPackage(opts?: FaultScope & { serve?: string }): FaultHandle;
  wrongRepo(opts?: FaultScope & { repository?: string }): FaultHandle;
  corruptTarball(scope?: FaultScope): FaultHandle;
  clear(kind?: FaultKind): void;
  active(): FaultKind[];
}

export interface RecordedRequest {
  method: string;
  /** Raw path without the query string. */
  path: string;
  /** Raw request target including the query string. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Status sent (0 while pending or when the connection died before headers). */
  status: number;
  /** Date.now() at arrival. */
  at: number;
  /** The request body, for the /api echo. */
  body?: Buffer;
}

export interface FakeUpstreamOptions {
  host?: string;
  /** Fixed port (default: an ephemeral one, kept across stop()/start()). */
  port?: number;
  /** Extra or replacement static files, keyed by absolute path ('/installs/hex.csv'). */
  files?: Record<string, string | Buffer>;
  /** Serve /api/* (default true). */
  api?: boolean;
}

export interface FakeUpstream {
  readonly url: string;
  readonly port: number;
  readonly repo: FixtureRepo;
  readonly requests: RecordedRequest[];
  /** Headers added to every /api answer (x-hex-message, say). */
  readonly apiHeaders: Record<string, string>;
  countRequests(match?: string | RegExp): number;
  resetRequests(): void;
  readonly fault: FaultControls;
  setFile(path: string, body: string | Buffer, contentType?: string): void;
  deleteFile(path: string): void;
  /** Close the listener and destroy every connection (connection refused until start()). */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** stop() for good. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- defaults for /installs

/** Deterministic pseudo-random bytes (so that checksums are stable between runs). */
function fakeBytes(label: string, size: number, prefix = ''): Buffer {
  const out = Buffer.alloc(size);
  const head = Buffer.from(prefix, 'latin1');
  head.copy(out);
  let block = createHash('sha256').update(label).digest();
  for (let pos = head.length; pos < size; pos += block.length) {
    block.copy(out, pos, 0, Math.min(block.length, size - pos));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

function sha512(data: Buffer): string {
  return createHash('sha512').update(data).digest('hex');
}

function defaultInstalls(): Record<string, Buffer> {
  const hexEz = fakeBytes('hex-2.1.1.ez', 4096, 'PK\x03\x04');
  const hexEzOtp = fakeBytes('hex-2.1.1-otp-27.ez', 4096, 'PK\x03\x04');
  const rebar3 = fakeBytes('rebar3-3.24.0', 8192, '#!/usr/bin/env escript\n');
  const rebar3Otp = fakeBytes('rebar3-3.24.0-otp-27', 8192, '#!/usr/bin/env escript\n');
  const hexCsv = Buffer.from(`2.1.1,${sha512(hexEz)},1.18.0\n`);
  const rebarCsv = Buffer.from(`3.24.0,${sha512(rebar3)},1.18.0\n`);
  const hexCsv19 = Buffer.from(`2.1.1,${sha512(hexEzOtp)},1.19.0,27\n`);
  const rebarCsv19 = Buffer.from(`3.24.0,${sha512(rebar3Otp)},1.19.0,27\n`);
  const sign = (csv: Buffer) => Buffer.from(signPayload(csv, testKeys().privateKeyPem).toString('base64'));
  return {
    '/installs/hex-1.x.csv': hexCsv,
    '/installs/hex-1.x.csv.signed': sign(hexCsv),
    '/installs/1.18.0/hex-2.1.1.ez': hexEz,
    '/installs/rebar3-1.x.csv': rebarCsv,
    '/installs/rebar3-1.x.csv.signed': sign(rebarCsv),
    '/installs/1.18.0/rebar3-3.24.0': rebar3,
    '/installs/hex.csv': hexCsv19,
    '/installs/hex.csv.signed': sign(hexCsv19),
    '/installs/1.19.0/hex-2.1.1-otp-27.ez': hexEzOtp,
    '/installs/rebar.csv': rebarCsv19,
    '/installs/rebar.csv.signed': sign(rebarCsv19),
    '/installs/1.19.0/rebar3-3.24.0-otp-27': rebar3Otp,
  };
}

// ---------------------------------------------------------------- responses

interface Resolved {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** What kind of object this is, for fault applicability. */
  kind: 'names' | 'versions' | 'package' | 'tarball' | 'docs' | 'public_key' | 'installs' | 'file' | 'api' | 'error';
  name?: string;
  version?: string;
  lastModified?: number;
}

const CACHE = {
  registry: 'public, max-age=3600',
  tarball: 'public, max-age=604800',
  docs: 'public, max-age=86400',
  installs: 'public, max-age=604800',
  publicKey: 'public, max-age=3600',
  api: 'max-age=0, private, must-revalidate',
};

let requestCounter = 0;

function accessDenied(): Resolved {
  const id = (++requestCounter).toString(16).padStart(16, '0').toUpperCase();
  const body = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>${id}</RequestId><HostId>ZmFrZS11cHN0cmVhbQ==</HostId></Error>`,
  );
  return { status: 403, headers: { 'content-type': 'application/xml' }, body, kind: 'error' };
}

function decodeSegment(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function splitRelease(file: string, suffix: string): { name: string; version: string } | undefined {
  if (!file.endsWith(suffix)) return undefined;
  const base = file.slice(0, -suffix.length);
  const dash = base.indexOf('-');
  if (dash <= 0) return undefined;
  return { name: base.slice(0, dash), version: base.slice(dash + 1) };
}

function httpDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString();
}

function etagOf(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => strip(t) === etag);
}

// ---------------------------------------------------------------- faults

interface ActiveFault {
  kind: FaultKind;
  scope: FaultScope;
  opts: Record<string, unknown>;
  hits: number;
  remaining: number;
  /** flap: matching requests seen. */
  seen: number;
}

function scopeMatches(scope: FaultScope, path: string): boolean {
  if (scope.path === undefined) return true;
  return typeof scope.path === 'string' ? path.startsWith(scope.path) : scope.path.test(path);
}

// ---------------------------------------------------------------- the server

export async function startFakeUpstream(repo: FixtureRepo, options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const host = options.host ?? '127.0.0.1';
  const serveApi = options.api ?? true;
  const files = new Map<string, { body: Buffer; contentType: string }>();
  const guessType = (path: string) => (path.endsWith('.csv') ? 'text/csv' : 'application/octet-stream');
  const setFile = (path: string, body: string | Buffer, contentType?: string) => {
    files.set(path, { body: Buffer.isBuffer(body) ? body : Buffer.from(body), contentType: contentType ?? guessType(path) });
  };
  for (const [path, body] of Object.entries(defaultInstalls())) setFile(path, body);
  for (const [path, body] of Object.entries(options.files ?? {})) setFile(path, body);

  const requests: RecordedRequest[] = [];
  const apiHeaders: Record<string, string> = {};
  /** /api requests the fake does not serve as hex.pm would: echoed. */
  const isEcho = (method: string, path: string) =>
    path.startsWith('/api/') &&
    ((method !== 'GET' && method !== 'HEAD') || !/^\/api\/(?:repos\/hexpm\/)?packages(?:\/[^/]+(?:\/releases\/[^/]+(?:\/docs)?)?)?\/?$/.test(path));
  const faults = new Map<FaultKind, ActiveFault>();
  const sockets = new Set<Socket>();
  let generation = new AbortController();
  let port = options.port ?? 0;
  let listening = false;
  let closed = false;

  // ---- fault bookkeeping

  const install = (kind: FaultKind, scope: FaultScope = {}, opts: Record<string, unknown> = {}, defaultTimes = Infinity): FaultHandle => {
    const fault: ActiveFault = { kind, scope, opts, hits: 0, remaining: scope.times ?? defaultTimes, seen: 0 };
    faults.set(kind, fault);
    return {
      kind,
      get hits() {
        return fault.hits;
      },
      get remaining() {
        return fault.remaining;
      },
      clear() {
        fault.remaining = 0;
        if (faults.get(kind) === fault) faults.delete(kind);
      },
    };
  };
  const find = (kind: FaultKind, path: string): ActiveFault | undefined => {
    const fault = faults.get(kind);
    return fault && fault.remaining > 0 && scopeMatches(fault.scope, path) ? fault : undefined;
  };
  const consume = (fault: ActiveFault) => {
    fault.hits++;
    fault.remaining--;
    if (fault.remaining <= 0 && faults.get(fault.kind) === fault) faults.delete(fault.kind);
  };
  const take = (kind: FaultKind, path: string, applicable = true): ActiveFault | undefined => {
    if (!applicable) return undefined;
    const fault = find(kind, path);
    if (fault) consume(fault);
    return fault;
  };

  // ---- routing

  const apiBase = () => ({ api: `http://${host}:${port}/api`, repo: `http://${host}:${port}` });

  const resolveApi = (req: IncomingMessage, path: string, query: URLSearchParams): Resolved => {
    const erlang = /application\/vnd\.hex\+erlang/.test(req.headers.accept ?? '');
    const render = (status: number, doc: JsonLike, lastModified?: number): Resolved => ({
      ...(erlang
        ? {
            status,
            headers: { 'content-type': 'application/vnd.hex+erlang; charset=utf-8', 'cache-control': CACHE.api, ...apiHeaders },
            body: encodeErlangTerm(doc),
            kind: 'api' as const,
          }
        : {
            status,
            headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': CACHE.api, ...apiHeaders },
            body: Buffer.from(JSON.stringify(doc)),
            kind: 'api' as const,
          }),
      ...(lastModified !== undefined ? { lastModified } : {}),
    });
    const notFound = () => render(404, { status: 404, message: 'Page not found' });
    if (/^\/api\/(?:repos\/hexpm\/)?packages\/?$/.test(path)) {
      // hex.pm's listing: a search over names, sorted, 100 a page.
      const search = (query.get('search') ?? '').toLowerCase();
      const page = Math.max(1, Number(query.get('page') ?? 1) || 1);
      const docs = repo
        .packages()
        .filter((name) => name.includes(search))
        .map((name) => repo.apiPackageJson(name, apiBase())!);
      if (query.get('sort') === 'downloads') docs.sort((a, b) => (b.downloads as { all: number }).all - (a.downloads as { all: number }).all);
      return render(200, docs.slice((page - 1) * 100, page * 100));
    }
    const m = /^\/api\/(?:repos\/hexpm\/)?packages\/([^/]+)(?:\/releases\/([^/]+)(\/docs)?)?\/?$/.exec(path);
    if (!m) return notFound();
    const name = decodeSegment(m[1]!);
    const version = m[2] === undefined ? undefined : decodeSegment(m[2]);
    if (name === undefined) return notFound();
    if (version === undefined) {
      const doc = repo.apiPackageJson(name, apiBase());
      return doc ? render(200, doc, latestTime(name)) : notFound();
    }
    if (m[3]) {
      if (!repo.docs(name, version)) return notFound();
      return {
        status: 302,
        headers: { location: `${apiBase().repo}/docs/${name}-${version}.tar.gz`, 'content-type': 'text/html; charset=utf-8' },
        body: Buffer.alloc(0),
        kind: 'api',
      };
    }
    const doc = repo.apiReleaseJson(name, version, apiBase());
    return doc ? render(200, doc, repo.release(name, version)!.publishedAt) : notFound();
  };

  const latestTime = (name?: string) => {
    const names = name ? [name] : repo.packages();
    const times = names.flatMap((n) => repo.releases(n).map((r) => r.publishedAt));
    return times.length ? Math.max(...times) : 946684800;
  };

  const registry = (kind: 'names' | 'versions' | 'package', body: Buffer | undefined, name?: string): Resolved =>
    body
      ? {
          status: 200,
          headers: { 'content-type': 'application/octet-stream', 'cache-control': CACHE.registry },
          body,
          kind,
          ...(name ? { name } : {}),
          lastModified: latestTime(name),
        }
      : accessDenied();

  const resolve = (req: IncomingMessage, path: string, query: URLSearchParams): Resolved => {
    if (path.startsWith('/api/')) return serveApi ? resolveApi(req, path, query) : accessDenied();
    const file = files.get(path);
    if (file) {
      return {
        status: 200,
        headers: { 'content-type': file.contentType, 'cache-control': path.startsWith('/installs/') ? CACHE.installs : CACHE.publicKey },
        body: file.body,
        kind: path.startsWith('/installs/') ? 'installs' : 'file',
        lastModified: 946684800,
      };
    }
    if (path === '/names') return registry('names', repo.namesBody());
    if (path === '/versions') return registry('versions', repo.versionsBody());
    if (path === '/public_key') {
      return {
        status: 200,
        headers: { 'content-type': 'application/octet-stream', 'cache-control': CACHE.publicKey },
        body: Buffer.from(repo.publicKeyPem),
        kind: 'public_key',
        lastModified: 946684800,
      };
    }
    let m = /^\/packages\/([^/]+)$/.exec(path);
    if (m) {
      const name = decodeSegment(m[1]!);
      return name === undefined ? accessDenied() : registry('package', repo.packageBody(name), name);
    }
    m = /^\/tarballs\/([^/]+)$/.exec(path);
    if (m) {
      const rel = splitRelease(decodeSegment(m[1]!) ?? '', '.tar');
      const release = rel && repo.release(rel.name, rel.version);
      if (!release) return accessDenied();
      return {
        status: 200,
        headers: { 'content-type': 'application/octet-stream', 'cache-control': CACHE.tarball },
        body: release.bytes,
        kind: 'tarball',
        name: release.name,
        version: release.version,
        lastModified: release.publishedAt,
      };
    }
    m = /^\/docs\/([^/]+)$/.exec(path);
    if (m) {
      const rel = splitRelease(decodeSegment(m[1]!) ?? '', '.tar.gz');
      const release = rel && repo.release(rel.name, rel.version);
      if (!release?.docs) return accessDenied();
      return {
        status: 200,
        headers: { 'content-type': 'application/octet-stream', 'cache-control': CACHE.docs },
        body: release.docs,
        kind: 'docs',
        name: release.name,
        version: release.version,
        lastModified: release.publishedAt,
      };
    }
    return accessDenied();
  };

  // ---- content faults

  const applyContentFaults = (res: Resolved, path: string): Resolved => {
    if (res.status !== 200) return res;
    const isRegistry = res.kind === 'names' || res.kind === 'versions' || res.kind === 'package';
    let body = res.body;
    const opts: PackageBodyOptions = {};
    let source = res.name;
    const wrongPackage = take('wrongPackage', path, res.kind === 'package');
    if (wrongPackage) {
      const other = (wrongPackage.opts.serve as string | undefined) ?? repo.packages().find((p) => p !== res.name) ?? `${res.name}_other`;
      // Another package's real record when it exists, else this one's releases relabelled.
      if (repo.releases(other).length > 0) source = other;
      else opts.recordName = other;
    }
    const wrongRepo = take('wrongRepo', path, isRegistry);
    if (wrongRepo) opts.repository = (wrongRepo.opts.repository as string | undefined) ?? 'evil';
    if (take('badSignature', path, isRegistry)) opts.privateKeyPem = otherKeys().privateKeyPem;
    if (Object.keys(opts).length > 0 || source !== res.name) {
      if (res.kind === 'names') body = repo.namesBody(opts);
      else if (res.kind === 'versions') body = repo.versionsBody(opts);
      else body = repo.packageBody(source!, opts)!;
    }
    if (take('corruptTarball', path, res.kind === 'tarball')) {
      body = Buffer.from(body);
      const release = repo.release(res.name!, res.version!);
      const [start, end] = release?.tarball.contentsRange ?? [0, body.length];
      const mid = Math.floor((start + end) / 2);
      for (const at of [mid, mid + 1, start + Math.floor((end - start) / 4)]) {
        if (at < body.length) body[at] = body[at]! ^ 0xff;
      }
    }
    return body === res.body ? res : { ...res, body };
  };

  // ---- body delivery

  const writeBody = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    plan: { rate?: number; cut?: { at: number; mode: 'truncate' | 'reset' }; padTo?: number },
    signal: AbortSignal,
  ): Promise<void> => {
    const total = plan.padTo !== undefined ? Math.max(plan.padTo, body.length) : body.length;
    const limit = plan.cut ? Math.min(plan.cut.at, total) : total;
    const chunkAt = (offset: number, size: number): Buffer => {
      if (offset + size <= body.length) return body.subarray(offset, offset + size);
      const head = offset < body.length ? body.subarray(offset) : Buffer.alloc(0);
      return Buffer.concat([head, Buffer.alloc(size - head.length, 0x20)]);
    };
    // About 20 writes a second; below 20 bytes/s, one byte every 1/rate seconds.
    const step = plan.rate ? Math.max(1, Math.floor(plan.rate / 20)) : 64 * 1024;
    const pauseMs = plan.rate ? (step * 1000) / plan.rate : 0;
    let offset = 0;
    while (offset < limit) {
      if (res.destroyed || signal.aborted) return;
      const size = Math.min(step, limit - offset);
      const chunk = chunkAt(offset, size);
      offset += size;
      if (plan.rate || plan.cut) {
        // Wait until the chunk is handed to the kernel, so a cut happens after exactly `at` bytes.
        await new Promise<void>((r) => res.write(chunk, () => r()));
        if (plan.rate) await sleep(pauseMs, undefined, { signal }).catch(() => undefined);
      } else if (!res.write(chunk)) {
        // Remove both listeners either way: a large body waits here many times, and the
        // leftover 'close' listeners used to pile up (MaxListenersExceededWarning).
        await new Promise<void>((r) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            r();
          };
          res.once('drain', done);
          res.once('close', done);
        });
      }
    }
    if (res.destroyed || signal.aborted) return;
    if (plan.cut) {
      // Kill the connection without finishing the response.
      const socket = req.socket;
      if (plan.cut.mode === 'reset') socket.resetAndDestroy();
      else socket.destroy();
      return;
    }
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const signal = generation.signal;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const entry: RecordedRequest = { method: req.method ?? 'GET', path, url, headers: req.headers, status: 0, at: Date.now() };
    requests.push(entry);
    const send = (status: number, headers: Record<string, string | number>) => {
      entry.status = status;
      res.writeHead(status, headers);
    };
    const wait = async (ms: number) => {
      await sleep(ms, undefined, { signal }).catch(() => undefined);
      return !(signal.aborted || res.destroyed || req.socket.destroyed);
    };

    const latency = take('latencyMs', path);
    if (latency && !(await wait(latency.opts.ms as number))) return;
    const hang = take('hangMs', path);
    if (hang && !(await wait(hang.opts.ms as number))) return;

    if (serveApi && isEcho(req.method ?? 'GET', path)) {
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      entry.body = Buffer.concat(chunks);
      const pick = (name: string) => (req.headers[name] === undefined ? null : String(req.headers[name]));
      const echo = Buffer.from(
        JSON.stringify({
          method: req.method,
          path,
          query: q === -1 ? '' : url.slice(q + 1),
          contentType: pick('content-type'),
          accept: pick('accept'),
          authorization: pick('authorization'),
          cookie: pick('cookie'),
          hexOtp: pick('x-hex-otp'),
          bodyLength: entry.body.length,
          bodySha256: createHash('sha256').update(entry.body).digest('hex'),
        }),
      );
      send(req.method === 'POST' ? 201 : 200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': echo.length,
        'set-cookie': 'hexpm_session=from-upstream; Path=/',
        'access-control-allow-origin': '*',
        'cache-control': CACHE.api,
        ...apiHeaders,
      });
      res.end(req.method === 'HEAD' ? undefined : echo);
      return;
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = Buffer.from(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>MethodNotAllowed</Code><Message>The specified method is not allowed against this resource.</Message></Error>`,
      );
      send(405, { 'content-type': 'application/xml', 'content-length': body.length, allow: 'GET, HEAD' });
      res.end(body);
      return;
    }

    const s503 = take('status503', path);
    const flap = find('flap', path);
    let flapNow = false;
    if (!s503 && flap) {
      flap.seen++;
      if (flap.seen % 2 === 1) {
        consume(flap);
        flapNow = true;
      }
    }
    if (s503 || flapNow) {
      const body = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Service Unavailable</Message></Error>');
      const headers: Record<string, string | number> = { 'content-type': 'application/xml', 'content-length': body.length };
      const retryAfter = s503?.opts.retryAfter;
      if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
      send(503, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const generic = take('status', path);
    if (generic) {
      const body = Buffer.from((generic.opts.body as string | undefined) ?? `status ${String(generic.opts.code)}`);
      send(generic.opts.code as number, {
        'content-type': 'text/plain',
        'content-length': body.length,
        ...((generic.opts.headers as Record<string, string> | undefined) ?? {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }

    const resolved = applyContentFaults(resolve(req, path, new URLSearchParams(q === -1 ? '' : url.slice(q + 1))), path);
    const headers: Record<string, string | number> = { ...resolved.headers };
    const cacheable = resolved.status === 200 && resolved.kind !== 'error';
    if (cacheable) {
      headers.etag = etagOf(resolved.body);
      if (resolved.lastModified !== undefined) headers['last-modified'] = httpDate(resolved.lastModified);
      headers['accept-ranges'] = 'bytes';
      if (etagMatches(req.headers['if-none-match'], headers.etag)) {
        delete headers['content-type'];
        send(304, headers);
        res.end();
        return;
      }
    }
    if (req.method === 'HEAD') {
      headers['content-length'] = resolved.body.length;
      send(resolved.status, headers);
      res.end();
      return;
    }

    const oversized = take('oversized', path);
    const truncate = take('truncate', path);
    const reset = truncate ? undefined : take('reset', path);
    const throttle = find('bytesPerSecond', path);
    if (throttle) consume(throttle);
    const total = oversized ? Math.max((oversized.opts.totalBytes as number | undefined) ?? 17 * 1024 * 1024, resolved.body.length) : resolved.body.length;
    if (oversized?.opts.chunked) delete headers['content-length'];
    else headers['content-length'] = total;
    const cutFault = truncate ?? reset;
    const plan = {
      ...(throttle ? { rate: throttle.opts.rate as number } : {}),
      ...(oversized ? { padTo: total } : {}),
      ...(cutFault
        ? {
            cut: { at: (cutFault.opts.afterBytes as number | undefined) ?? Math.floor(total / 2), mode: truncate ? ('truncate' as const) : ('reset' as const) },
          }
        : {}),
    };
    send(resolved.status, headers);
    await writeBody(req, res, resolved.body, plan, signal);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  const start = async () => {
    if (closed) throw new Error('fake upstream is closed');
    if (listening) return;
    generation = new AbortController();
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
    listening = true;
  };

  const stop = async () => {
    if (!listening) return;
    listening = false;
    generation.abort();
    const closedPromise = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closedPromise;
  };

  await start();

  const fault: FaultControls = {
    latencyMs: (ms, scope) => install('latencyMs', scope, { ms }),
    hangMs: (ms = 120_000, scope) => install('hangMs', scope, { ms }),
    status503: (opts = {}) => install('status503', opts, { retryAfter: opts.retryAfter }, 1),
    status: (code, opts = {}) => install('status', opts, { code, body: opts.body, headers: opts.headers }),
    flap: (scope) => install('flap', scope),
    down: stop,
    up: start,
    truncate: (opts = {}) => install('truncate', opts, { afterBytes: opts.afterBytes }),
    reset: (opts = {}) => install('reset', opts, { afterBytes: opts.afterBytes }),
    bytesPerSecond: (rate, scope) => {
      if (!(rate > 0)) throw new Error('bytesPerSecond: rate must be > 0');
      return install('bytesPerSecond', scope, { rate });
    },
    oversized: (opts = {}) => install('oversized', opts, { totalBytes: opts.totalBytes, chunked: opts.chunked }),
    badSignature: (scope) => install('badSignature', scope),
    wrongPackage: (opts = {}) => install('wrongPackage', opts, { serve: opts.serve }),
    wrongRepo: (opts = {}) => install('wrongRepo', opts, { repository: opts.repository }),
    corruptTarball: (scope) => install('corruptTarball', scope),
    clear: (kind) => {
      if (kind) faults.delete(kind);
      else faults.clear();
    },
    active: () => [...faults.keys()],
  };

  return {
    get url() {
      return `http://${host}:${port}`;
    },
    get port() {
      return port;
    },
    repo,
    requests,
    apiHeaders,
    countRequests: (match) => requests.filter((r) => match === undefined || (typeof match === 'string' ? r.path.startsWith(match) : match.test(r.path))).length,
    resetRequests: () => {
      requests.length = 0;
    },
    fault,
    setFile,
    deleteFile: (path) => {
      files.delete(path);
    },
    stop,
    start,
    close: async () => {
      await stop();
      closed = true;
    },
  };
}
