// What both real-client tests (mix and rebar3) build against: the same small repository, and
// the bound the issue sets for a build through a hanging upstream.
import { FixtureRepo } from './hex-fixtures.js';

/** Issue #12: with the upstream hanging, a build through the mirror finishes within this. */
export const HANGING_BUILD_LIMIT_MS = 20_000;

/** hexmid 0.4.0 needs hexleaf ~> 1.0, which has a newer 2.0.0 the resolver must pass over. */
export async function publishFixtures(): Promise<FixtureRepo> {
  const repo = new FixtureRepo();
  await repo.publish({ name: 'hexleaf', version: '1.0.0' });
  await repo.publish({ name: 'hexleaf', version: '1.2.3' });
  await repo.publish({ name: 'hexleaf', version: '2.0.0' });
  await repo.publish({ name: 'hexmid', version: '0.4.0', deps: [{ name: 'hexleaf', requirement: '~> 1.0' }] });
  return repo;
}
