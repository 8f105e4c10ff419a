// The mirror's own disk misbehaving: full (a real tmpfs that runs out of space), and stored
// files damaged behind its back (truncated, or bytes flipped at the same size).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src-shared/contract.js';
import { keys } from '../../src-main/store/keys.js';
import { publishSized } from '../support/sized-fixtures.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { readIndexEntries } from '../support/index-file.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror | undefined;

beforeEach(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'small', version: '1.0.0' });
  await repo.publish({ name: 'other', version: '0.1.0' });
  await publishSized(repo, 'big', '1.0.0', 2 * MiB, 1);
  // Larger than the hot cache's per-object limit (4 MiB): always streamed from disk.
  await publishSized(repo, 'huge', '1.0.0', 5 * MiB, 2);
  upstream = await startFakeUpstream(repo);
});

afterEach(async () => {
  await mirror?.stop();
  mirror = undefined;
  await upstream.close();
});

function bytesOf(name: string, version = '1.0.0'): Buffer {
  return repo.release(name, version)!.bytes;
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.runIf(canMountTmpfs())('a full disk', () => {
  let disk: Tmpfs;

  beforeEach(async () => {
    disk = await mountTmpfs(16 * MiB);
  });

  afterEach(async () => {
    await mirror?.stop();
    mirror = undefined;
    await disk.unmount();
  });

  it('passes downloads through without keeping them, leaves nothing partial, says so, and resumes caching once space is freed', async () => {
    mirror = await startMirror(upstream.url, {}, disk.dir);
    const { engine } = mirror;
    const events: ServerEvent[] = [];
    engine.events.subscribe((event) => events.push(event));
    expect((await httpGet(mirror.url, '/tarballs/small-1.0.0.tar')).status).toBe(200);
    await engine.index.flush();

    const filler = await disk.fill();
    // Five clients at once for a 2 MiB tarball the disk cannot take: each gets the whole,
    // verified body (the first streamed live, the others passed through in turn).
    const replies = await Promise.all(Array.from({ length: 5 }, () => httpGet(mirror!.url, '/tarballs/big-1.0.0.tar')));
    for (const reply of replies) {
      expect(reply.error).toBeUndefined();
      expect(reply.status).toBe(200);
      expect(sha256(reply.body)).toBe(sha256(bytesOf('big')));
    }
    // A registry record that could not be stored is served from memory.
    const record = await httpGet(mirror.url, '/packages/other');
    expect(record.status, record.body.toString()).toBe(200);
    expect(record.body.equals(repo.packageBody('other')!)).toBe(true);
    // Nothing partial, nothing unverified, nothing recorded.
    expect(await readdir(join(disk.dir, 'tmp'))).toEqual([]);
    expect(engine.index.get(keys.tarball('big', '1.0.0'))).toBeUndefined();
    expect(existsSync(engine.store.path(keys.tarball('big', '1.0.0')))).toBe(false);
    // What is cached is still served, and the condition is visible.
    expect((await httpGet(mirror.url, '/tarballs/small-1.0.0.tar')).headers['x-hexhub-cache']).toBe('HIT');
    const status = await engine.status();
    expect(status.storage).toMatchObject({ writable: false, reason: 'disk full' });
    expect(status.storage.lastError).toMatch(/ENOSPC/);
    expect(events).toContainEqual(expect.objectContaining({ type: 'storage', storage: expect.objectContaining({ writable: false }) }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'transfer-end', key: keys.tarball('big', '1.0.0'), outcome: 'passed' }));
    expect(mirror.logs.some((l) => l.event === 'storage_failed')).toBe(true);
    expect((await httpGet(mirror.url, '/metrics')).body.toString()).toMatch(/hexhub_storage_write_failures_total\{kind="tarball"\} [1-9]/);

    // A pre-warm has no client to pass the bytes to: its item fails with the reason.
    const job = await engine.prewarm({ packages: ['big@1.0.0'] });
    await until(() => ['done', 'failed'].includes(engine.jobs.get(job.id)!.state), 'the pre-warm job');
    const finished = engine.jobs.get(job.id)!;
    const item = finished.items.find((i) => i.name === 'big');
    expect(item, JSON.stringify(finished)).toBeDefined();
    expect(item!.state).toBe('failed');
    expect(item!.error).toBe('the cache disk is full or not writable');
    expect(item!.detail).toMatch(/could not be stored \(the cache disk is full or not writable\).*ENOSPC/);
    expect(await readdir(join(disk.dir, 'tmp'))).toEqual([]);

    // Space freed: the next request is kept again, and the condition clears by itself.
    await rm(filler);
    const again = await httpGet(mirror.url, '/tarballs/big-1.0.0.tar');
    expect(sha256(again.body)).toBe(sha256(bytesOf('big')));
    expect(engine.index.get(keys.tarball('big', '1.0.0'))?.sha256).toBe(sha256(bytesOf('big')));
    expect((await engine.status()).storage.writable).toBe(true);
    expect(events).toContainEqual(expect.objectContaining({ type: 'storage', storage: expect.objectContaining({ writable: true }) }));
    expect((await httpGet(mirror.url, '/tarballs/big-1.0.0.tar')).headers['x-hexhub-cache']).toBe('HIT');
    // The index write that failed meanwhile is retried; after a clean stop it lists everything.
    await mirror.stop();
    expect(Object.keys(await readIndexEntries(disk.dir))).toEqual(expect.arrayContaining([keys.tarball('big', '1.0.0'), keys.tarball('small', '1.0.0')]));
  });
});

describe('a damaged stored file', () => {
  afterEach(async () => {
    if (mirror) await removeDir(mirror.dataDir);
  });

  it('is never served when its size no longer matches the index: it is fetched again', async () => {
    mirror = await startMirror(upstream.url);
    await httpGet(mirror.url, '/tarballs/big-1.0.0.tar');
    await httpGet(mirror.url, '/tarballs/huge-1.0.0.tar');
    // Restarted, so no copy in memory: only the disk can answer.
    mirror = await mirror.restart();
    const big = mirror.engine.store.path(keys.tarball('big', '1.0.0'));
    const huge = mirror.engine.store.path(keys.tarball('huge', '1.0.0'));
    await truncate(big, 1000);
    await writeFile(huge, Buffer.concat([await readFile(huge), Buffer.from('trailing junk')]));
    upstream.resetRequests();
    for (const name of ['big', 'huge']) {
      const reply = await httpGet(mirror.url, `/tarballs/${name}-1.0.0.tar`);
      expect(reply.status).toBe(200);
      expect(sha256(reply.body)).toBe(sha256(bytesOf(name)));
    }
    expect(upstream.countRequests('/tarballs/')).toBe(2);
    expect(mirror.logs.filter((l) => l.event === 'damaged_object')).toHaveLength(2);
    expect((await readFile(big)).equals(bytesOf('big'))).toBe(true);
  });

  it('with flipped bytes is caught on its way into memory (small objects) and fetched again', async () => {
    mirror = await startMirror(upstream.url);
    await httpGet(mirror.url, '/tarballs/big-1.0.0.tar');
    mirror = await mirror.restart();
    const path = mirror.engine.store.path(keys.tarball('big', '1.0.0'));
    const damaged = await readFile(path);
    damaged[damaged.length >> 1]! ^= 0xff;
    await writeFile(path, damaged);
    upstream.resetRequests();
    const reply = await httpGet(mirror.url, '/tarballs/big-1.0.0.tar');
    expect(sha256(reply.body)).toBe(sha256(bytesOf('big')));
    expect(upstream.countRequests('/tarballs/')).toBe(1);
  });

  it('with flipped bytes is found by the background scrub, quarantined, fetched again and reported', async () => {
    mirror = await startMirror(upstream.url, { HEXHUB_SCRUB_INTERVAL: '1', HEXHUB_SCRUB_RATE: '200' });
    await httpGet(mirror.url, '/tarballs/huge-1.0.0.tar');
    await httpGet(mirror.url, '/tarballs/small-1.0.0.tar');
    const key = keys.tarball('huge', '1.0.0');
    const path = mirror.engine.store.path(key);
    const damaged = await readFile(path);
    damaged[12345]! ^= 0x01;
    await writeFile(path, damaged);
    // Large objects are streamed from disk and not re-hashed on every hit (warm speed):
    // until the scrub comes round, the damage is served. This is what the scrub is for.
    upstream.resetRequests();
    const events: ServerEvent[] = [];
    mirror.engine.events.subscribe((event) => events.push(event));

    await until(
      async () => (await mirror!.engine.status()).scrub.problems.length > 0 && (await mirror!.engine.status()).scrub.problems[0]!.refetched !== null,
      'the scrub to find the damage',
    );
    const { scrub } = await mirror.engine.status();
    expect(scrub.enabled).toBe(true);
    expect(scrub.problems[0]).toMatchObject({ key, refetched: true });
    expect(scrub.problems[0]!.reason).toMatch(/SHA-256 .* differs/);
    // The damaged copy is kept aside for inspection, the good one is back in place.
    const quarantined = join(mirror.dataDir, scrub.problems[0]!.quarantined!);
    expect((await readFile(quarantined)).equals(damaged)).toBe(true);
    expect((await readFile(path)).equals(bytesOf('huge'))).toBe(true);
    expect(upstream.countRequests('/tarballs/')).toBe(1);
    const reply = await httpGet(mirror.url, '/tarballs/huge-1.0.0.tar');
    expect(sha256(reply.body)).toBe(sha256(bytesOf('huge')));
    expect(events).toContainEqual(expect.objectContaining({ type: 'scrub' }));
    expect(mirror.logs.some((l) => l.event === 'scrub_damaged' && l.key === key)).toBe(true);
    expect((await httpGet(mirror.url, '/metrics')).body.toString()).toMatch(/hexhub_damaged_objects_total\{kind="tarball",found_by="scrub"\} 1/);
    // The pass is remembered across a restart (so a daily restart does not reset the schedule).
    await until(async () => (await mirror!.engine.status()).scrub.lastPass !== undefined, 'the pass to finish');
    mirror = await mirror.restart({ HEXHUB_SCRUB_INTERVAL: '3600' });
    expect((await mirror.engine.status()).scrub.lastPass?.problems).toBeGreaterThanOrEqual(1);
    expect((await mirror.engine.status()).scrub.nextPassAt).toBeGreaterThan(Date.now() + 3_000_000);
  });

  it('is scrubbed at the configured pace, while serving goes on', async () => {
    mirror = await startMirror(upstream.url, { HEXHUB_SCRUB_INTERVAL: '0', HEXHUB_SCRUB_RATE: '2' });
    await httpGet(mirror.url, '/tarballs/huge-1.0.0.tar');
    await httpGet(mirror.url, '/tarballs/small-1.0.0.tar');
    expect((await mirror.engine.status()).scrub.enabled).toBe(false);
    const started = performance.now();
    const pass = mirror.engine.scrubber.runPass();
    // Hits are answered while the pass reads (they do not queue behind it).
    for (let i = 0; i < 20; i++) expect((await httpGet(mirror.url, '/tarballs/small-1.0.0.tar')).status).toBe(200);
    const result = await pass;
    // About 5 MiB at 2 MiB/s: a lower bound only (pacing must slow it down; how much faster
    // the machine could go is not asserted).
    expect(performance.now() - started).toBeGreaterThan(2000);
    expect(result.problems).toBe(0);
    expect(result.checked).toBeGreaterThanOrEqual(4);
  });
});
