// The steps of one artifact download (src-main/mirror/transfer.ts), against the fake upstream
// over real HTTP or, where a fault needs exact chunk boundaries, a scripted stand-in for the
// upstream client; the client is an array sink that records what it was sent and when.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src-main/config/config.js';
import type { ArtifactSpec } from '../../src-main/mirror/artifact-spec.js';
import type { ResponseHead, ResponseSink } from '../../src-main/mirror/response-sink.js';
import { Transfer, type TransferDeps } from '../../src-main/mirror/transfer.js';
import type { Problem } from '../../src-main/core/problem.js';
import { createMetrics } from '../../src-main/core/metrics.js';
import { BlobStore } from '../../src-main/store/blob-store.js';
import { CacheIndex, type CacheEntry } from '../../src-main/store/cache-index.js';
import { keys } from '../../src-main/store/keys.js';
import { FsStorage, type ObjectStorage } from '../../src-main/store/object-storage.js';
import { SlowBodyError, UpstreamClient, UpstreamError } from '../../src-main/upstream/upstream-client.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo, testKeys, type FixtureRelease } from '../support/hex-fixtures.js';
import { removeDir } from '../support/mirror.js';
import { publishSized } from '../support/sized-fixtures.js';

const log = pino({ level: 'silent' });
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A client that takes everything at once, writing what happens to it into a shared timeline. */
class ArraySink implements ResponseSink {
  // No client waiting on a clock: the transfer's own steps are under test, not the deadline.
  readonly deadline = undefined;
  open = true;
  started = false;
  head: ResponseHead | undefined;
  readonly chunks: Buffer[] = [];
  ended = false;
  reason: Problem | undefined;

  constructor(private readonly timeline: string[]) {}

  begin(head: ResponseHead): void {
    this.started = true;
    this.head = head;
    this.timeline.push('sink begin');
  }

  async write(chunk: Buffer): Promise<void> {
    this.chunks.push(chunk);
    this.timeline.push('sink write');
  }

  end(last?: Buffer): void {
    this.open = false;
    this.ended = true;
    if (last) this.chunks.push(last);
    this.timeline.push(`sink end${last?.length ? ' with the last chunk' : ''}`);
  }

  abort(reason: Problem): void {
    if (!this.open) return;
    this.open = false;
    this.reason = reason;
    this.timeline.push(`sink abort ${reason.kind}`);
  }

  body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/**
 * A body that yields `chunks`, then fails with `error` if given: in that order whatever the
 * timing (a Readable destroyed with an error may drop what it still buffers).
 */
function bodyOf(chunks: Buffer[], error?: Error): Readable {
  async function* generate() {
    for (const chunk of chunks) yield chunk;
    if (error) throw error;
  }
  return Object.assign(generate(), { destroy: () => undefined }) as unknown as Readable;
}

/** Answers the transfer's requests from a script, chunk by chunk, recording the headers asked with. */
function scriptedUpstream(answers: { status: number; headers?: Record<string, string>; body: Readable }[]) {
  const asked: Record<string, string>[] = [];
  return {
    asked,
    async open(url: string, options: { headers?: Record<string, string> }) {
      asked.push(options.headers ?? {});
      const answer = answers.shift();
      if (!answer) throw new Error('the script has no more answers');
      return { status: answer.status, headers: answer.headers ?? {}, body: answer.body, url };
    },
  };
}

/** A storage whose disk is full: every object it is asked to keep is refused. */
class FullDiskStorage extends FsStorage {
  override async persist(): Promise<void> {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  }
}

const dirs: string[] = [];
let repo: FixtureRepo;
let upstream: FakeUpstream;
let client: UpstreamClient;
let big: FixtureRelease;

beforeAll(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'leaf', version: '1.0.0' });
  // Large enough to arrive in many chunks over loopback.
  big = await publishSized(repo, 'big', '1.0.0', 256 * 1024, 3);
  upstream = await startFakeUpstream(repo);
  const config = loadConfig({ UPSTREAM_URL: upstream.url, UPSTREAM_PUBLIC_KEY: testKeys().publicKeyPem, UPSTREAM_RETRY_DELAY: '1', UPSTREAM_TIMEOUT: '2000' });
  client = new UpstreamClient(config.upstream, log, createMetrics());
});

afterEach(() => {
  upstream.fault.clear();
  upstream.resetRequests();
});

afterAll(async () => {
  client.close();
  await upstream.close();
  for (const dir of dirs) await removeDir(dir);
});

async function harness(options: { upstream?: TransferDeps['upstream']; storage?: (store: BlobStore) => ObjectStorage; attempts?: number } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'hexhub-transfer-'));
  dirs.push(dataDir);
  const store = new BlobStore(dataDir);
  await store.init();
  const index = new CacheIndex(dataDir, log);
  const timeline: string[] = [];
  index.onChange((change) => timeline.push(`index ${change.type}`));
  const events: string[] = [];
  const deps: TransferDeps = {
    store,
    storage: options.storage?.(store) ?? new FsStorage(store),
    index,
    upstream: options.upstream ?? client,
    log,
    metrics: createMetrics(),
    retry: () => ({ attempts: options.attempts ?? 2, delayMs: 1 }),
    signal: new AbortController().signal,
    listener: {
      started: () => events.push('started'),
      progress: () => undefined,
      ended: (_view, outcome, error) => events.push(`ended ${outcome}${error ? `: ${error}` : ''}`),
    },
  };
  return { deps, store, index, timeline, events, sink: new ArraySink(timeline), tmpFiles: () => readdir(join(dataDir, 'tmp')) };
}

function tarballSpec(release: FixtureRelease, outer = release.outerChecksum): ArtifactSpec {
  return {
    key: keys.tarball(release.name, release.version),
    kind: 'tarball',
    url: `${upstream.url}/tarballs/${release.name}-${release.version}.tar`,
    contentType: 'application/octet-stream',
    cacheControl: 'public, max-age=604800',
    maxBytes: 256 * 1024 * 1024,
    trust: 'the test key',
    checksums: { outer, inner: release.innerChecksum },
  };
}

function docsSpec(name: string, version: string): ArtifactSpec {
  return {
    key: keys.docs(name, version),
    kind: 'docs',
    url: `${upstream.url}/docs/${name}-${version}.tar.gz`,
    contentType: 'application/octet-stream',
    cacheControl: 'public, max-age=86400',
    maxBytes: 512 * 1024 * 1024,
    trust: upstream.url,
  };
}

describe('a transfer', () => {
  it('streams a clean body in order, holds the last chunk until it is verified and stored, and records the entry', async () => {
    const { deps, store, index, timeline, events, sink, tmpFiles } = await harness();
    const entry = await new Transfer(deps, tarballSpec(big), sink).run();

    expect(sink.body().equals(big.bytes)).toBe(true);
    expect(sink.head).toMatchObject({ etag: `"${big.outerChecksum}"`, contentLength: big.bytes.length, cacheState: 'MISS' });
    // The head went out with the first chunk; every chunk but the last went out as it came;
    // the last only once the object was verified and in the index.
    expect(timeline[0]).toBe('sink begin');
    expect(timeline.filter((step) => step === 'sink write').length).toBeGreaterThan(1);
    expect(timeline.slice(-2)).toEqual(['index stored', 'sink end with the last chunk']);
    expect(entry).toMatchObject({ kind: 'tarball', size: big.bytes.length, sha256: big.outerChecksum, trust: 'the test key' });
    expect(index.get(keys.tarball('big', '1.0.0'))).toBe(entry);
    expect((await readFile(store.path(keys.tarball('big', '1.0.0')))).equals(big.bytes)).toBe(true);
    expect(await tmpFiles()).toEqual([]);
    expect(events).toEqual(['started', 'ended stored']);
  });

  it('answers a body refused before any of it went out with the reason, and keeps nothing', async () => {
    const wrong = sha256(Buffer.from('another tarball'));
    const body = Buffer.from('a whole tarball, in one chunk');
    const scripted = scriptedUpstream([{ status: 200, headers: { 'content-length': String(body.length) }, body: bodyOf([body]) }]);
    const { deps, index, timeline, events, sink, tmpFiles } = await harness({ upstream: scripted });
    const spec = { ...tarballSpec(repo.release('leaf', '1.0.0')!, wrong), refreshChecksums: async () => ({ outer: wrong, inner: 'x' }) };

    await expect(new Transfer(deps, spec, sink).run()).rejects.toMatchObject({ kind: 'upstream_failed' });
    // The one chunk was held back, so no head went out: the client gets the reason.
    expect(timeline).toEqual(['sink abort upstream_failed']);
    expect(sink.reason?.message).toBe(`refused upstream tarballs/leaf-1.0.0.tar: SHA-256 ${sha256(body)} does not match the registry checksum ${wrong}`);
    expect(index.get(spec.key)).toBeUndefined();
    expect(await tmpFiles()).toEqual([]);
    expect(events).toEqual(['started', `ended failed: ${sink.reason?.message}`]);
  });

  it('cuts a client off when the body is refused after some of it went out, never sending the last chunk', async () => {
    const chunks = [Buffer.from('first '), Buffer.from('second '), Buffer.from('last')];
    const scripted = scriptedUpstream([{ status: 200, body: bodyOf(chunks) }]);
    const { deps, index, timeline, sink, tmpFiles } = await harness({ upstream: scripted });
    const spec = tarballSpec(repo.release('leaf', '1.0.0')!, sha256(Buffer.from('something else')));

    await expect(new Transfer(deps, spec, sink).run()).rejects.toThrow(/does not match the registry checksum/);
    expect(timeline).toEqual(['sink begin', 'sink write', 'sink write', 'sink abort upstream_failed']);
    expect(sink.body().toString()).toBe('first second ');
    expect(sink.ended).toBe(false);
    expect(index.get(spec.key)).toBeUndefined();
    expect(await tmpFiles()).toEqual([]);
  });

  it('resumes a body cut off mid-way with Range and If-Range, and the client gets it whole', async () => {
    upstream.fault.truncate({ path: '/tarballs/', times: 1, afterBytes: 100_000 });
    const { deps, index, sink, tmpFiles } = await harness();
    const entry = await new Transfer(deps, tarballSpec(big), sink).run();

    const asked = upstream.requests.filter((r) => r.path === '/tarballs/big-1.0.0.tar');
    expect(asked).toHaveLength(2);
    expect(asked[0]!.headers.range).toBeUndefined();
    // From what had arrived when the connection closed (at most what was sent before the cut).
    const from = Number(/^bytes=(\d+)-$/.exec(String(asked[1]!.headers.range))?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(100_000);
    expect(asked[1]!.headers['if-range']).toMatch(/^"[0-9a-f]{32}"$/);
    expect(sink.body().equals(big.bytes)).toBe(true);
    expect(sink.ended).toBe(true);
    expect(index.get(keys.tarball('big', '1.0.0'))).toBe(entry);
    expect(await tmpFiles()).toEqual([]);
  });

  it('does not resume a body below the minimum rate: one request, a 504', async () => {
    const scripted = scriptedUpstream([{ status: 200, body: bodyOf([Buffer.from('a')], new SlowBodyError(1, 5000, 1024)) }]);
    const { deps, sink } = await harness({ upstream: scripted, attempts: 3 });

    await expect(new Transfer(deps, tarballSpec(big), sink).run()).rejects.toMatchObject({
      kind: 'upstream_timeout',
      message: expect.stringMatching(/too slow/),
    });
    expect(scripted.asked).toHaveLength(1);
  });

  it('resumes a body that broke (not a slow one), dropping what it already has when the upstream ignores Range', async () => {
    const whole = Buffer.from('abcdef');
    const scripted = scriptedUpstream([
      { status: 200, headers: { 'content-length': '6', etag: '"v1"' }, body: bodyOf([Buffer.from('abc')], new UpstreamError('network', 'socket hang up')) },
      { status: 200, headers: { 'content-length': '6' }, body: bodyOf([whole]) },
    ]);
    const { deps, sink } = await harness({ upstream: scripted });
    const entry = await new Transfer(deps, tarballSpec(big, sha256(whole)), sink).run();

    expect(scripted.asked[1]).toEqual({ range: 'bytes=3-', 'if-range': '"v1"' });
    expect(sink.body().toString()).toBe('abcdef');
    expect(entry?.size).toBe(6);
  });

  it('passes a verified body through without keeping it when the store refuses writes, or answers 507 with no client', async () => {
    const { deps, store, index, events, sink, tmpFiles } = await harness({ storage: (blobs) => new FullDiskStorage(blobs) });
    expect(await new Transfer(deps, tarballSpec(big), sink).run()).toBeUndefined();
    expect(sink.body().equals(big.bytes)).toBe(true);
    expect(sink.ended).toBe(true);
    expect(index.get(keys.tarball('big', '1.0.0'))).toBeUndefined();
    expect(await tmpFiles()).toEqual([]);
    expect(store.health.writable).toBe(false);
    expect(events).toEqual(['started', 'ended passed: not kept: the cache disk is full or not writable']);

    // Pre-warm: nobody to pass it to.
    await expect(new Transfer(deps, tarballSpec(big)).run()).rejects.toMatchObject({
      kind: 'not_stored',
      message: expect.stringMatching(/could not be stored \(the cache disk is full or not writable\): ENOSPC/),
    });
    expect(await tmpFiles()).toEqual([]);
  });
});

describe('a revalidation', () => {
  async function storedDocs() {
    await repo.publishDocs('leaf', '1.0.0', '<h1>first</h1>');
    const h = await harness();
    const entry = (await new Transfer(h.deps, docsSpec('leaf', '1.0.0')).run())!;
    h.events.length = 0;
    h.timeline.length = 0;
    upstream.resetRequests();
    return { ...h, entry };
  }

  it('keeps the stored copy on a 304, validated now, without announcing a transfer or writing anything', async () => {
    const { deps, index, timeline, events, tmpFiles, entry } = await storedDocs();
    const before = entry.validatedAt;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const result = await new Transfer(deps, docsSpec('leaf', '1.0.0'), undefined, entry).run();

    expect(result).toBe(entry);
    expect(entry.validatedAt).toBeGreaterThan(before);
    const asked = upstream.requests.filter((r) => r.path === '/docs/leaf-1.0.0.tar.gz');
    expect(asked.map((r) => [r.headers['if-none-match'], r.status])).toEqual([[entry.upstreamEtag, 304]]);
    expect(events).toEqual([]);
    expect(timeline).toEqual([]);
    expect(index.get(keys.docs('leaf', '1.0.0'))).toBe(entry);
    expect(await tmpFiles()).toEqual([]);
  });

  it('replaces the stored copy with a changed body, announced once there is one', async () => {
    const { deps, index, events, entry } = await storedDocs();
    const second = await repo.publishDocs('leaf', '1.0.0', '<h1>second, and longer</h1>');
    const result = (await new Transfer(deps, docsSpec('leaf', '1.0.0'), undefined, entry).run()) as CacheEntry;

    expect(result).not.toBe(entry);
    expect(result).toMatchObject({ size: second.length, sha256: sha256(second) });
    expect(index.get(keys.docs('leaf', '1.0.0'))).toBe(result);
    expect(events).toEqual(['started', 'ended stored']);
  });
});
