// The numbers the dashboard shows, against counted traffic (issue 14): client hits and
// misses apart from pre-warm downloads, bytes saved, upstream errors per failed request with
// the attempts apart, upstream health turning "degraded" while clients wait through retries,
// the activity log, counters and log surviving a restart, and disk use as `df` counts it.
import { appendFile, readFile, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, createApiClient } from '../../src-shared/api-client.js';
import type { ActivityEntry, Counters, JobView, ServerEvent, UpstreamHealthView } from '../../src-shared/contract.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror;
let events: ServerEvent[];
let unsubscribe: () => void;

const size = (name: string, version = '1.0.0') => repo.release(name, version)!.bytes.length;
const tarball = (name: string, version = '1.0.0') => httpGet(mirror.url, `/tarballs/${name}-${version}.tar`);

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function listen(m: TestMirror): void {
  events = [];
  unsubscribe = m.engine.events.subscribe((event) => events.push(event));
}

async function use(env: Record<string, string>): Promise<void> {
  unsubscribe();
  await mirror.stop();
  mirror = await startMirror(upstream.url, env, mirror.dataDir);
  listen(mirror);
}

async function restart(): Promise<void> {
  unsubscribe();
  mirror = await mirror.restart();
  listen(mirror);
}

async function prewarm(packages: string[]): Promise<JobView> {
  const job = await mirror.engine.control.startPrewarm({ packages });
  return until('the pre-warm job', async () => {
    const now = await mirror.engine.control.job(job.id);
    return now.state === 'resolving' || now.state === 'running' ? undefined : now;
  });
}

const counters = async (): Promise<Counters> => (await mirror.engine.control.status()).counters;

beforeEach(async () => {
  repo = new FixtureRepo();
  for (const name of ['alpha', 'bravo', 'charlie', 'delta', 'echo']) await repo.publish({ name, version: '1.0.0' });
  upstream = await startFakeUpstream(repo);
  mirror = await startMirror(upstream.url);
  listen(mirror);
});

afterEach(async () => {
  unsubscribe();
  await mirror.stop();
  await upstream.close();
  await removeDir(mirror.dataDir);
});

describe('counters', () => {
  it('counts client hits and misses apart from pre-warm downloads, and bytes saved as what clients got from the cache', async () => {
    const started = Date.now();
    const since = (await counters()).since;
    // One client miss, then three hits of it.
    expect((await tarball('alpha')).headers['x-hexhub-cache']).toBe('MISS');
    for (let i = 0; i < 3; i++) expect((await tarball('alpha')).headers['x-hexhub-cache']).toBe('HIT');
    // Two pre-warm downloads: neither a hit nor a miss.
    const job = await prewarm(['bravo@1.0.0', 'charlie@1.0.0']);
    expect(job.totals).toMatchObject({ fetched: 2, failed: 0 });
    // A client request for what pre-warm fetched: a hit, saved from the upstream.
    expect((await tarball('bravo')).headers['x-hexhub-cache']).toBe('HIT');

    const now = await counters();
    expect(now).toMatchObject({
      since,
      hits: 4,
      misses: 1,
      prewarmFetches: 2,
      bytesServed: 4 * size('alpha') + size('bravo'),
      bytesSaved: 3 * size('alpha') + size('bravo'),
      upstreamErrors: 0,
      upstreamFailedAttempts: 0,
    });
    // Every byte from the upstream, registry records included (as the Prometheus metric counts them).
    const upstreamTotal = (await mirror.engine.metrics.upstreamBytes.get()).values.reduce((sum, v) => sum + v.value, 0);
    expect(now.upstreamBytes).toBe(upstreamTotal);
    expect(now.upstreamBytes).toBeGreaterThan(size('alpha') + size('bravo') + size('charlie'));
    // The counters are published as they change, at most a few times a second.
    const published = await until('a counters event with the latest counts', () =>
      events.filter((e) => e.type === 'counters').find((e) => e.counters.bytesSaved === now.bytesSaved),
    );
    expect(published.counters).toEqual(now);
    expect(events.filter((e) => e.type === 'counters').length).toBeLessThanOrEqual((Date.now() - started) / 500 + 2);
  });

  it('counts one upstream error per failed request, and every failed attempt apart', async () => {
    await use({ UPSTREAM_RETRY_ATTEMPTS: '2' });
    // The registry records first, so only the tarball requests fail.
    for (const name of ['alpha', 'bravo', 'charlie']) expect((await httpGet(mirror.url, `/packages/${name}`)).status).toBe(200);
    upstream.fault.status(500, { path: '/tarballs/' });
    expect((await tarball('alpha')).status).toBe(502);
    expect((await tarball('bravo')).status).toBe(502);
    expect(upstream.countRequests('/tarballs/')).toBe(6);
    // (The three registry records were client misses too.)
    expect(await counters()).toMatchObject({ upstreamErrors: 2, upstreamFailedAttempts: 6, misses: 5, hits: 0 });
    // Refused connections: the same, one error for the request however many attempts it took.
    upstream.fault.clear();
    await upstream.stop();
    expect((await tarball('charlie')).status).toBe(502);
    expect(await counters()).toMatchObject({ upstreamErrors: 3, upstreamFailedAttempts: 9 });
    await upstream.start();
  });

  it('keeps the counters and their start across a restart, and starts them again on reset', async () => {
    await tarball('alpha');
    await tarball('alpha');
    await prewarm(['bravo@1.0.0']);
    const before = await counters();
    expect(before).toMatchObject({ hits: 1, misses: 1, prewarmFetches: 1 });
    await restart();
    expect(await counters()).toEqual(before);
    expect((await stat(join(mirror.dataDir, 'counters.json'))).mode & 0o777).toBe(0o600);
    // Counting goes on from there.
    await tarball('alpha');
    expect(await counters()).toMatchObject({ since: before.since, hits: 2, bytesSaved: before.bytesSaved + size('alpha') });

    const resetAt = Date.now();
    const reset = await createApiClient({ baseUrl: mirror.url, token: mirror.engine.token }).resetCounters();
    expect(reset).toMatchObject({ hits: 0, misses: 0, prewarmFetches: 0, bytesServed: 0, bytesSaved: 0, upstreamBytes: 0, upstreamErrors: 0 });
    expect(reset.since).toBeGreaterThanOrEqual(resetAt);
    expect(events).toContainEqual({ type: 'counters', counters: reset });
    await restart();
    expect(await counters()).toEqual(reset);
  });

  it('starts afresh, with a log line, when the saved counters are damaged', async () => {
    await tarball('alpha');
    await mirror.stop();
    await writeFile(join(mirror.dataDir, 'counters.json'), '{"hits": 3, "misses": "many"');
    await restart();
    expect(await counters()).toMatchObject({ hits: 0, misses: 0 });
    expect(mirror.logs.some((l) => l.event === 'counters_damaged')).toBe(true);
  });
});

describe('upstream health', () => {
  it('turns degraded at the first failed attempt, while the client still waits through the retries, and is published', async () => {
    await use({ UPSTREAM_RETRY_ATTEMPTS: '3', UPSTREAM_RETRY_DELAY: '400' });
    expect((await httpGet(mirror.url, '/packages/alpha')).status).toBe(200);
    expect((await mirror.engine.control.status()).upstream.state).toBe('reachable');
    upstream.fault.status(500, { path: '/tarballs/' });
    let answered = false;
    const reply = tarball('alpha').then((r) => {
      answered = true;
      return r;
    });
    const degraded = await until('a degraded health event', () =>
      events.find((e): e is { type: 'health'; upstream: UpstreamHealthView } => e.type === 'health' && e.upstream.state === 'degraded'),
    );
    expect(answered).toBe(false);
    expect(upstream.countRequests('/tarballs/')).toBeLessThan(4);
    expect(degraded.upstream.lastError).toMatch(/500/);
    expect((await mirror.engine.control.status()).upstream.state).toBe('degraded');
    expect((await reply).status).toBe(502);
    // Back: reachable again, and said so.
    upstream.fault.clear();
    expect((await tarball('alpha')).status).toBe(200);
    expect((await mirror.engine.control.status()).upstream.state).toBe('reachable');
    expect(events.some((e) => e.type === 'health' && e.upstream.state === 'reachable')).toBe(true);
  });

  it('is unreachable when requests are refused, and when the upstream is turned off', async () => {
    await use({ UPSTREAM_RETRY_ATTEMPTS: '0' });
    await upstream.stop();
    expect((await httpGet(mirror.url, '/packages/alpha')).status).toBe(502);
    expect((await mirror.engine.control.status()).upstream).toMatchObject({ state: 'unreachable', reachable: false });
    await upstream.start();
    await use({ UPSTREAM_ENABLED: 'false' });
    expect((await mirror.engine.control.status()).upstream.state).toBe('unreachable');
  });
});

describe('transfers', () => {
  it('reports the bytes and total of a download while it runs, and the bytes received when it ends', async () => {
    upstream.fault.bytesPerSecond(Math.ceil(size('alpha') / 1.2), { path: '/tarballs/' });
    expect((await tarball('alpha')).status).toBe(200);
    const progress = events.flatMap((e) => (e.type === 'transfer' ? [e.transfer] : []));
    expect(progress.some((t) => t.bytes > 0 && t.bytes < size('alpha') && t.totalBytes === size('alpha'))).toBe(true);
    const end = events.find((e) => e.type === 'transfer-end');
    expect(end).toMatchObject({ key: 'tarballs/alpha-1.0.0.tar', outcome: 'stored', bytes: size('alpha') });
  });
});

describe('the activity log', () => {
  const activity = (limit?: number) => mirror.engine.control.activity(limit);
  const brief = (e: ActivityEntry) => ({ key: e.key, outcome: e.outcome, source: e.source, bytes: e.bytes });

  it('records downloads by clients and by pre-warm, failures in user words, removals and evictions, newest first', async () => {
    await use({ UPSTREAM_RETRY_ATTEMPTS: '0' });
    await tarball('alpha');
    await prewarm(['bravo@1.0.0']);
    expect((await httpGet(mirror.url, '/packages/charlie')).status).toBe(200);
    upstream.fault.status(500, { path: '/tarballs/' });
    expect((await tarball('charlie')).status).toBe(502);
    upstream.fault.clear();
    await mirror.engine.control.deleteRelease('alpha', '1.0.0');
    await tarball('delta');
    // A cap that holds only the newest download: bravo goes.
    await mirror.engine.admin.enforceCap(size('delta'));
    const evicted = await until('the eviction', async () => (await activity()).find((e) => e.outcome === 'evicted'));
    expect(brief(evicted)).toEqual({ key: 'tarballs/bravo-1.0.0.tar', outcome: 'evicted', source: 'cap', bytes: size('bravo') });

    const entries = await activity();
    expect(entries.map(brief)).toEqual([
      brief(evicted),
      { key: 'tarballs/delta-1.0.0.tar', outcome: 'stored', source: 'client', bytes: size('delta') },
      { key: 'tarballs/alpha-1.0.0.tar', outcome: 'removed', source: 'user', bytes: size('alpha') },
      { key: 'tarballs/charlie-1.0.0.tar', outcome: 'failed', source: 'client', bytes: 0 },
      { key: 'tarballs/bravo-1.0.0.tar', outcome: 'stored', source: 'prewarm', bytes: size('bravo') },
      { key: 'tarballs/alpha-1.0.0.tar', outcome: 'stored', source: 'client', bytes: size('alpha') },
    ]);
    const failed = entries.find((e) => e.outcome === 'failed')!;
    expect(failed.error).toBe('the upstream answered with an error (HTTP 500)');
    expect(failed.detail).toMatch(/tarballs\/charlie-1\.0\.0\.tar.*500/);
    // The live row says the same as the log.
    const ended = events.find((e) => e.type === 'transfer-end' && e.outcome === 'failed');
    expect(ended).toMatchObject({ error: failed.error, detail: failed.detail });
    expect(entries.every((e) => e.kind === 'tarball' && e.id > 0 && e.at > 0)).toBe(true);
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
    // Each entry is published as it is recorded.
    expect(events.filter((e) => e.type === 'activity').map((e) => e.type === 'activity' && e.entry)).toEqual([...entries].reverse());
    expect((await activity(2)).map((e) => e.id)).toEqual(entries.slice(0, 2).map((e) => e.id));
    await expect(activity(0)).rejects.toMatchObject({ kind: 'bad_request' });
    // The same over HTTP, as the dashboard asks.
    const api = createApiClient({ baseUrl: mirror.url, token: mirror.engine.token });
    expect(await api.activity()).toEqual(entries);
    expect(await api.activity(1)).toEqual(entries.slice(0, 1));
    const refused = await api.activity(5000).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(400);
  });

  it('survives a restart, and a torn last line left by a killed process', async () => {
    await tarball('alpha');
    await prewarm(['bravo@1.0.0']);
    const before = await mirror.engine.control.activity();
    expect(before).toHaveLength(2);
    await restart();
    expect(await mirror.engine.control.activity()).toEqual(before);
    const file = join(mirror.dataDir, 'activity.jsonl');
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    await mirror.stop();
    await appendFile(file, '{"id":3,"at":17,"key":"tarballs/cha');
    await restart();
    expect(await mirror.engine.control.activity()).toEqual(before);
    await tarball('charlie');
    const after = await mirror.engine.control.activity();
    expect(after).toHaveLength(3);
    expect(after[0]).toMatchObject({ key: 'tarballs/charlie-1.0.0.tar', outcome: 'stored' });
    expect(after[0]!.id).toBeGreaterThan(before[0]!.id);
    await restart();
    expect(await mirror.engine.control.activity()).toEqual(after);
    // The torn line is gone from the file, not glued to the next one.
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as ActivityEntry).key)).toEqual(after.map((e) => e.key).reverse());
  });
});

describe('disk use', () => {
  it('counts the volume as used the way df does: blocks less free blocks (reserved blocks are not used)', async () => {
    const used = async () => {
      const fs = await statfs(mirror.dataDir);
      return { df: (fs.blocks - fs.bfree) * fs.bsize, reservedToo: (fs.blocks - fs.bavail) * fs.bsize };
    };
    const before = await used();
    const disk = await mirror.engine.control.disk();
    const after = await used();
    // Other processes write meanwhile: within what the volume did around the call.
    const slack = 64 * 1024 * 1024;
    expect(disk.volumeUsedBytes).toBeGreaterThanOrEqual(Math.min(before.df, after.df) - slack);
    expect(disk.volumeUsedBytes).toBeLessThanOrEqual(Math.max(before.df, after.df) + slack);
    if (after.reservedToo - after.df > 4 * slack) expect(Math.abs(disk.volumeUsedBytes - after.reservedToo)).toBeGreaterThan(slack);
  });
});
