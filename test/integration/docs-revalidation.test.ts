// Docs can be replaced upstream at any time (hex.pm lets authors publish docs again), so stored
// docs are revalidated once older than HEXHUB_DOCS_TTL, like registry records: a conditional
// request, a changed body verified and swapped in whole, stale-if-error, and no client held
// up longer than the revalidation budget.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'leaf', version: '1.0.0' });
  upstream = await startFakeUpstream(repo);
});

afterEach(async () => {
  upstream.fault.clear();
  await mirror?.stop();
  if (mirror) dirs.push(mirror.dataDir);
  mirror = undefined;
});

afterAll(async () => {
  await upstream.close();
  for (const dir of dirs) await removeDir(dir);
});

const DOCS = '/docs/leaf-1.0.0.tar.gz';
const docsRequests = () => upstream.requests.filter((r) => r.path === DOCS);

describe('stored docs', () => {
  it('are served from the store while younger than the docs TTL, without asking the upstream', async () => {
    mirror = await startMirror(upstream.url);
    await repo.publishDocs('leaf', '1.0.0', '<h1>first</h1>');
    expect((await httpGet(mirror.url, DOCS)).status).toBe(200);
    await repo.publishDocs('leaf', '1.0.0', '<h1>second</h1>');
    upstream.resetRequests();
    const hit = await httpGet(mirror.url, DOCS);
    expect(hit.headers['x-hexhub-cache']).toBe('HIT');
    expect(docsRequests()).toEqual([]);
  });

  it('are revalidated past the TTL: a 304 keeps them, docs replaced upstream replace them', async () => {
    mirror = await startMirror(upstream.url, { HEXHUB_DOCS_TTL: '0' });
    const first = await repo.publishDocs('leaf', '1.0.0', '<h1>first</h1>');
    expect((await httpGet(mirror.url, DOCS)).body.equals(first)).toBe(true);

    upstream.resetRequests();
    const same = await httpGet(mirror.url, DOCS);
    expect(same.status).toBe(200);
    expect(same.headers['x-hexhub-cache']).toBe('REVALIDATED');
    expect(same.body.equals(first)).toBe(true);
    // A conditional request with the ETag the upstream gave, answered 304.
    expect(docsRequests().map((r) => [r.headers['if-none-match'], r.status])).toEqual([[expect.stringMatching(/^"[0-9a-f]{32}"$/), 304]]);

    const second = await repo.publishDocs('leaf', '1.0.0', '<h1>second, longer than the first</h1>');
    const replaced = await httpGet(mirror.url, DOCS);
    expect(replaced.headers['x-hexhub-cache']).toBe('REVALIDATED');
    expect(replaced.body.equals(second)).toBe(true);
    expect(mirror.engine.index.get('docs/leaf-1.0.0.tar.gz')).toMatchObject({ size: second.length });
    // Swapped in whole: the new file is in place and nothing is left in tmp/.
    expect(existsSync(join(mirror.dataDir, 'cache/docs/leaf-1.0.0.tar.gz'))).toBe(true);
    expect(await readdir(join(mirror.dataDir, 'tmp'))).toEqual([]);
    const log = mirror.logs.filter((l) => l.event === 'upstream_fetch' && l.kind === 'docs').map((l) => l.outcome);
    expect(log).toEqual(['stored', 'not_modified', 'stored']);
  });

  it('are served stale when the revalidation fails, or takes longer than the budget, and a bad new body never replaces them', async () => {
    // A timeout past the slow answer below, which must land (only the budget is shorter).
    mirror = await startMirror(upstream.url, { HEXHUB_DOCS_TTL: '0', UPSTREAM_RETRY_ATTEMPTS: '0', UPSTREAM_TIMEOUT: '10000' });
    const first = await repo.publishDocs('leaf', '1.0.0', '<h1>first</h1>');
    expect((await httpGet(mirror.url, DOCS)).body.equals(first)).toBe(true);

    // Replaced upstream by something that is not gzip: refused, the stored docs stay.
    await repo.publishDocs('leaf', '1.0.0', '<h1>second</h1>');
    upstream.fault.truncate({ path: DOCS, times: 1 });
    const refused = await httpGet(mirror.url, DOCS);
    expect(refused.status).toBe(200);
    expect(refused.headers['x-hexhub-cache']).toBe('STALE');
    expect(String(refused.headers['x-hexhub-stale'])).toMatch(/upstream failed|not a valid gzip/);
    expect(refused.body.equals(first)).toBe(true);

    // Slower than the budget: the stored docs now, the new ones once they are in.
    upstream.fault.latencyMs(3000, { path: DOCS, times: 1 });
    const slow = await httpGet(mirror.url, DOCS);
    expect(slow.headers['x-hexhub-cache']).toBe('STALE');
    expect(String(slow.headers['x-hexhub-stale'])).toMatch(/did not answer within 2000 ms; revalidating in the background/);
    expect(slow.body.equals(first)).toBe(true);
    await expect.poll(() => mirror!.engine.index.get('docs/leaf-1.0.0.tar.gz')?.size, { timeout: 10_000 }).toBe(repo.docs('leaf', '1.0.0')!.length);

    // Upstream gone: stale, saying why.
    await upstream.stop();
    try {
      const down = await httpGet(mirror.url, DOCS);
      expect(down.status).toBe(200);
      expect(down.headers['x-hexhub-cache']).toBe('STALE');
      expect(String(down.headers['x-hexhub-stale'])).toMatch(/ECONNREFUSED/);
      expect(down.body.equals(repo.docs('leaf', '1.0.0')!)).toBe(true);
    } finally {
      await upstream.start();
    }
  });
});
