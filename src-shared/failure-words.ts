// What went wrong with a download, said the way a person reads it ("the upstream did not
// answer in time"), with the engine's own message kept as the detail. One wording for the
// activity log, pre-warm job items, the dashboard and the tray, so the same failure never
// reads two ways. The engine's messages name keys and checksums, which help a bug report but
// not someone deciding whether to retry.
import { isProblemKind, messageOf, type ProblemKind } from './problems.js';

export interface FailureWords {
  /** In user words. */
  error: string;
  /** The internal detail (the engine's message), for a disclosure or a bug report. */
  detail: string;
}

/**
 * Message patterns of an upstream_failed problem, first match wins. (Messages name keys, which
 * hold package names: the patterns match the engine's own words around them.)
 */
const UPSTREAM_FAILED: [RegExp, (match: RegExpMatchArray) => string][] = [
  [/refused upstream |does not match the registry checksum|not a valid gzip file/, () => 'the download failed verification'],
  [/upstream answered (\d{3})/, (m) => `the upstream answered with an error (HTTP ${m[1]})`],
  [/upstream redirected/, () => 'the upstream sent it elsewhere (a redirect that is not followed)'],
  [/over the .*limit|more than \d+ bytes|exceeds/i, () => 'the download was larger than allowed'],
  [/truncated|ended at|cut off|socket hang up|ECONNRESET/i, () => 'the download was cut off'],
  [/unreachable|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/, () => 'the upstream could not be reached'],
];

function words(kind: ProblemKind | undefined, message: string): string {
  switch (kind) {
    case 'upstream_timeout':
      return /too slow/.test(message) ? 'the upstream sent it too slowly' : 'the upstream did not answer in time';
    case 'not_found':
      return 'it does not exist on the upstream';
    case 'not_stored':
      return 'the cache disk is full or not writable';
    case 'unavailable':
      if (/offline|disabled/.test(message)) return 'the mirror is offline (the upstream is turned off)';
      if (/shutting down/.test(message)) return 'the mirror was stopping';
      return 'the upstream is not available now';
    case 'upstream_failed':
    case undefined:
      for (const [pattern, say] of UPSTREAM_FAILED) {
        const match = message.match(pattern);
        if (match) return say(match);
      }
      return kind === 'upstream_failed' ? 'the upstream failed' : message;
    default:
      return message;
  }
}

/** A failure (a Problem from the engine in process, an API error, or a kind and message) in user words. */
export function failureInWords(error: unknown, kind?: ProblemKind): FailureWords {
  const detail = messageOf(error);
  const own = (error as { kind?: unknown } | null)?.kind;
  return { error: words(kind ?? (isProblemKind(own) ? own : undefined), detail), detail };
}
