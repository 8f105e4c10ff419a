// How a pre-warm job tells what happened: its problems in user words (the resolver's and the
// lock check's own messages, with keys and "required by", become the detail), which of them are
// only warnings, and the final state. A job is 'failed' only when something asked for could not
// be fetched; a release fetched despite a note (retired, a lock checksum that differs) is a
// warning, so a job that fetched everything reads "done".
import type { JobState, JobView } from '../../src-shared/contract.js';
import { failureInWords } from '../../src-shared/failure-words.js';
import type { ResolveProblem } from './resolve.js';

export type JobProblem = JobView['problems'][number];

/** Problems that never keep a release asked for from being fetched. */
const ALWAYS_WARNINGS = new Set<ResolveProblem['kind']>(['retired', 'other-repository', 'invalid-dependency']);
/** Problems that are warnings when a release was picked anyway (and fetched). */
const WARNINGS_WHEN_PICKED = new Set<ResolveProblem['kind']>(['conflict', 'unstable']);

/** "(required by phoenix@1.7.0, (requested))" → " (needed by phoenix@1.7.0)"; nothing when only asked for. */
function neededBy(reason: string): string {
  const by = /\(required by (.*)\)$/.exec(reason)?.[1];
  const parents = by
    ?.split(', ')
    .filter((p) => p !== '(requested)')
    .join(', ');
  return parents ? ` (needed by ${parents})` : '';
}

function resolveWords(problem: ResolveProblem): string {
  const notFound = (problem.cause as { kind?: unknown } | undefined)?.kind === 'not_found';
  if (problem.kind === 'unknown-package' || (problem.kind === 'fetch-failed' && notFound)) return `no package named ${problem.name}${neededBy(problem.reason)}`;
  if (problem.kind === 'fetch-failed') return `could not look up ${problem.name}: ${failureInWords(problem.cause).error}${neededBy(problem.reason)}`;
  return problem.reason;
}

/** A resolver problem as the job shows it; `picked` holds the names a release was picked for. */
export function fromResolve(problem: ResolveProblem, picked: Set<string>): JobProblem {
  const warning = ALWAYS_WARNINGS.has(problem.kind) || (WARNINGS_WHEN_PICKED.has(problem.kind) && picked.has(problem.name));
  const reason = resolveWords(problem);
  return { name: problem.name, reason, ...(reason !== problem.reason ? { detail: problem.reason } : {}), ...(warning ? { warning: true } : {}) };
}

/** A lock's checksum that differs from the verified registry: the registry's release is fetched, but Hex will refuse the lock as it is. */
export function lockChecksumWarning(name: string, version: string, which: 'outer' | 'inner', locked: string, registry: string): JobProblem {
  return {
    name,
    reason: `the lock file's checksum for ${version} differs from the registry's; the release was fetched, but mix will refuse the lock until it is updated`,
    detail: `${version}: lock ${which} checksum ${locked} differs from the registry's ${registry}`,
    warning: true,
  };
}

export function finalState(view: JobView, cancelled: boolean): JobState {
  if (cancelled) return 'cancelled';
  if (view.error || view.totals.failed > 0 || view.problems.some((p) => !p.warning)) return 'failed';
  return 'done';
}
