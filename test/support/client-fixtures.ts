// What both real-client tests (mix and rebar3) build against: the same small repository, and
// the bound the issue sets for a build through a hanging upstream.
import { expect } from 'vitest';
import type { FakeUpstream } from './fake-upstream.js';
import { FixtureRepo } from './hex-fixtures.js';
import type { ClientResult } from './rebar3.js';

/** Issue #12: with the upstream hanging, a build through the mirror finishes within this. */
export const HANGING_BUILD_LIMIT_MS = 20_000;

/**
 * A client's build (`build`, killed at the timeout it is given) with every upstream request
 * hanging: it must ask the upstream, succeed from the cache and finish within the limit.
 */
export async function expectBuildDespiteHangingUpstream(
  client: string,
  upstream: FakeUpstream,
  mirrorLog: () => string,
  build: (timeoutMs: number) => Promise<ClientResult>,
): Promise<void> {
  const hang = upstream.fault.hangMs();
  const started = performance.now();
  // Killed a little after the limit, so that a failure still shows what the client was doing.
  const result = await build(HANGING_BUILD_LIMIT_MS + 5_000);
  const ms = Math.round(performance.now() - started);
  const report = `${client} took ${ms} ms${result.timedOut ? ' and was killed' : ''}:\n${result.output}\nmirror log (tail):\n${mirrorLog().slice(-3000)}`;
  // Otherwise the mirror answered without asking, and the hang was never put to the test.
  expect(hang.hits, 'the mirror never asked the upstream').toBeGreaterThan(0);
  expect(result.code, report).toBe(0);
  expect(ms, `the build must finish within ${HANGING_BUILD_LIMIT_MS} ms with the upstream hanging; ${report}`).toBeLessThan(HANGING_BUILD_LIMIT_MS);
  expect(result.output).toMatch(/Compiling hexleaf/);
}

/** hexmid 0.4.0 needs hexleaf ~> 1.0, which has a newer 2.0.0 the resolver must pass over. */
export async function publishFixtures(): Promise<FixtureRepo> {
  const repo = new FixtureRepo();
  await repo.publish({ name: 'hexleaf', version: '1.0.0' });
  await repo.publish({ name: 'hexleaf', version: '1.2.3' });
  await repo.publish({ name: 'hexleaf', version: '2.0.0' });
  await repo.publish({ name: 'hexmid', version: '0.4.0', deps: [{ name: 'hexleaf', requirement: '~> 1.0' }] });
  return repo;
}
