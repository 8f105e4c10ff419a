// How long a client waits for the upstream. Hex gives up on a request after 15 s and rebar3
// takes long retries of its own, so a build through the mirror must never wait on a hanging
// upstream longer than going direct would:
// - with nothing stored (a cold miss), until the client's deadline (HEXHUB_MISS_BUDGET, set
//   once per client request by the repository routes), then a 504 with the reason;
// - with a stored copy that is due for revalidation, for the revalidation budget
//   (HEXHUB_REVALIDATE_BUDGET), then the stored copy, while the revalidation finishes.
// Work without a client (pre-warm, the scrub) has no deadline.
//
// The deadline is passed along explicitly (a sink's, or an option), not through
// AsyncLocalStorage: on Node 20 that turns on async hooks for the whole process, which cost
// warm hits, which never wait for anything, about a sixth of their throughput.
import { Problem } from '../core/problem.js';

/** When the client stops waiting (ms since the epoch); undefined: no client waits, no deadline. */
export type ClientDeadline = number | undefined;

/**
 * Waits for `work` as long as the current client can: past its deadline, rejects with a 504
 * naming `what`, while the work goes on (its outcome is kept for the next request). Once
 * `answering()` is true (the client's response has begun) the deadline no longer applies.
 */
export async function withinClientDeadline<T>(work: Promise<T>, what: string, until: ClientDeadline, answering: () => boolean = () => false): Promise<T> {
  if (until === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        if (!answering()) reject(new Problem('upstream_timeout', `the upstream did not answer for ${what} in time; try again (the mirror keeps fetching it)`));
      },
      Math.max(0, until - Date.now()),
    );
  });
  // The work's own failure, once nobody waits for it, must not surface as unhandled.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * True when `work` is still running after `ms` (it is left running), false once it settled:
 * how long a client waits for a revalidation when a stored copy can answer it.
 */
export async function stillRunningAfter(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  try {
    return await Promise.race([
      work.then(
        () => false as const,
        () => false as const,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
