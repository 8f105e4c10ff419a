// Never worse than going direct (issue #12): with everything cached and every registry record
// expired, an upstream that hangs, blackholes or refuses must not hold a build up. Each stored
// record is answered within the revalidation budget (2 s by default) plus a little; a cold miss
// gets a 504/502 with the reason before Hex's own 15 s timeout. The bounds asked for by the
// issue are the assertions here; they are not speed targets.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet, type Reply } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';
import { canDropPackets, createNeighbourHost, type NeighbourHost } from '../support/other-parties.js';

const BUDGET_MS = 2000;
/** What a request may take beyond the budget: the allowance. */
const SLACK_MS = 500;
/** Hex gives up on a request after 15 s. */
const HEX_TIMEOUT_MS = 15_000;

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror | undefined;
const dirs: string[] = [];

const STORED = ['/names', '/versions', '/packages/alpha', '/packages/beta', '/tarballs/alpha-1.0.0.tar', '/tarballs/beta-2.0.0.tar'];

beforeAll(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'alpha', version: '1.0.0' });
  await repo.publish({ name: 'beta', version: '2.0.0' });
  await repo.publish({ name: 'beta', version: '2.1.0' });
  upstream = await startFakeUpstream(repo);
});

afterEach(async () => {
  upstream.fault.clear();
  await mirror?.stop();
  mirror = undefined;
});

afterAll(async () => {
  await upstream.close();
  for (const dir of dirs) await removeDir(dir);
});

/** A mirror whose cache holds STORED, restarted to use `upstreamUrl` (after `breakIt`) with every record expired. */
async function cachedMirrorUsing(upstreamUrl: string, breakIt?: () => unknown, env: Record<string, string> = {}): Promise<TestMirror> {
  const filled = await startMirror(upstream.url);
  dirs.push(filled.dataDir);
  for (const path of STORED) expect((await httpGet(filled.url, path)).status, path).toBe(200);
  await filled.stop();
  await breakIt?.();
  // Retries as configured by default (UPSTREAM_RETRY_ATTEMPTS 3, 1 s backoff, 30 s timeout): the
  // budget must hold whatever they would cost.
  mirror = await startMirror(
    upstreamUrl,
    { HEXHUB_REGISTRY_TTL: '0', UPSTREAM_TIMEOUT: '30000', UPSTREAM_RETRY_DELAY: '1000', UPSTREAM_RETRY_ATTEMPTS: '3', ...env },
    filled.dataDir,
  );
  return mirror;
}

async function timed(url: string, path: string): Promise<Reply & { ms: number }> {
  const started = performance.now();
  const reply = await httpGet(url, path);
  return { ...reply, ms: performance.now() - started };
}

/** Every stored object within the budget, stale where it is a record; a cold miss explained before Hex gives up. */
async function expectNeverWorseThanDirect(m: TestMirror, coldStatus: number[]): Promise<void> {
  for (const path of STORED) {
    const reply = await timed(m.url, path);
    expect(reply.status, path).toBe(200);
    expect(reply.ms, `${path} took ${Math.round(reply.ms)} ms`).toBeLessThan(BUDGET_MS + SLACK_MS);
    if (!path.startsWith('/tarballs/')) {
      expect(reply.headers['x-hexhub-cache'], path).toBe('STALE');
      expect(String(reply.headers['x-hexhub-stale'])).toMatch(/upstream (unreachable|did not answer within 2000 ms)/);
    }
  }
  // The same again: by now the upstream is known to be down, so nothing waits at all.
  for (const path of STORED) expect((await timed(m.url, path)).ms, path).toBeLessThan(SLACK_MS);
  expect((await m.engine.status()).upstream.reachable).toBe(false);

  for (const path of ['/packages/gamma', '/tarballs/beta-2.1.0.tar']) {
    const cold = await timed(m.url, path);
    expect(coldStatus, `${path}: ${cold.status} ${cold.body.toString()}`).toContain(cold.status);
    expect(cold.ms, `${path} took ${Math.round(cold.ms)} ms`).toBeLessThan(HEX_TIMEOUT_MS);
    expect(cold.body.toString()).toMatch(/upstream/);
  }
}

describe('a build with everything cached and every record expired', () => {
  it('is not held up by an upstream that accepts connections and never answers', async () => {
    const m = await cachedMirrorUsing(upstream.url, () => upstream.fault.hangMs(120_000));
    await expectNeverWorseThanDirect(m, [504]);
  });

  it('is not held up by an upstream that refuses connections', async () => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const m = await cachedMirrorUsing(`http://127.0.0.1:${port}`);
    await expectNeverWorseThanDirect(m, [502, 504]);
  });

  it.runIf(canDropPackets())('is not held up by an upstream that drops every packet after the handshake', async () => {
    let neighbour: NeighbourHost | undefined;
    try {
      neighbour = createNeighbourHost();
      await neighbour.blackhole(4000);
      // The default cold-miss budget is shown with the hanging upstream above; a shorter one
      // here keeps the suite quick, and shows the budget is what answers.
      const m = await cachedMirrorUsing(`http://${neighbour.address}:4000`, undefined, { HEXHUB_MISS_BUDGET: '5000' });
      await expectNeverWorseThanDirect(m, [504]);
    } finally {
      await mirror?.stop();
      mirror = undefined;
      neighbour?.remove();
    }
  });

  it('revalidates in the background: the stored copy now, the new one once the upstream answers', async () => {
    const m = await cachedMirrorUsing(upstream.url);
    await repo.publish({ name: 'alpha', version: '1.1.0' });
    upstream.fault.latencyMs(3000, { path: '/packages/alpha' });
    const stale = await timed(m.url, '/packages/alpha');
    expect(stale.headers['x-hexhub-cache']).toBe('STALE');
    expect(String(stale.headers['x-hexhub-stale'])).toMatch(/did not answer within 2000 ms; revalidating in the background/);
    expect(stale.ms).toBeLessThan(BUDGET_MS + SLACK_MS);
    // The revalidation was not dropped: once it lands, the new record is what is stored.
    await expect.poll(async () => (await httpGet(m.url, '/packages/alpha')).body.equals(repo.packageBody('alpha')!), { timeout: 10_000 }).toBe(true);
    expect(upstream.countRequests('/packages/alpha')).toBeGreaterThanOrEqual(2);
  });
});
