// A job as people read it: what happened ("Done, 2 warnings", "Cancelled after 12 of 27"),
// and its list of names cut short so that a 30-name job fits on a line.
import type { JobView } from '../../src-shared/contract';

export type JobTone = 'info' | 'ok' | 'danger' | 'warn' | 'accent';

/** Releases done with: fetched, already cached or failed. */
export function jobProcessed(job: JobView): number {
  return job.totals.fetched + job.totals.cached + job.totals.failed;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The outcome in a few words, for the badge, the activity log and the toast. */
export function jobOutcome(job: JobView): { text: string; tone: JobTone } {
  const { totals } = job;
  switch (job.state) {
    case 'resolving':
      return { text: 'Resolving', tone: 'accent' };
    case 'running':
      return { text: 'Running', tone: 'info' };
    case 'done': {
      // A done job has only warnings: problems that stopped nothing asked for (a retired release, a lock checksum).
      const warnings = job.problems.length;
      return warnings ? { text: `Done, ${plural(warnings, 'warning')}`, tone: 'ok' } : { text: 'Done', tone: 'ok' };
    }
    case 'cancelled':
      return { text: `Cancelled after ${jobProcessed(job)} of ${totals.items}`, tone: 'warn' };
    case 'failed':
      return totals.items > 0 && totals.failed > 0
        ? { text: `Failed: ${totals.failed} of ${totals.items}`, tone: 'danger' }
        : { text: 'Failed', tone: 'danger' };
  }
}

/** "phoenix, ecto, plug" as a list; a lock file's "mix.lock (27 entries)" is one name. */
export function sourceNames(source: string): string[] {
  return source.includes(', ') ? source.split(', ') : [source];
}

/**
 * "phoenix, ecto and 25 more": the first names that fit in about `budget` characters (one at
 * least, two at most), and how many are left out.
 */
export function summariseNames(names: string[], budget = 40): string {
  if (names.length <= 3 && names.join(', ').length <= budget) return names.join(', ');
  let shown = 1;
  if (names.length > 2 && `${names[0]}, ${names[1]}`.length <= budget) shown = 2;
  if (names.length <= shown) return names.join(', ');
  return `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`;
}

/** A job's source, short: for toasts and the activity list. */
export function jobLabel(job: JobView): string {
  return job.source ? summariseNames(sourceNames(job.source)) : 'pre-warm';
}
