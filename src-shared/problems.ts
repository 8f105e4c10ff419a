// One vocabulary for what can go wrong, shared by the engine, the CLI, the tray and the
// dashboard. The engine's code says what happened (a `kind`, in the domain's words); only the
// HTTP edge turns a kind into a status, through STATUS_OF, and every place that shows an error
// to a person says it through describeProblem.

export type ProblemKind =
  | 'bad_request' // a malformed request: a bad name, version or query
  | 'unauthorized' // no token or session
  | 'forbidden' // refused by the access rules (peer, Host, Origin, web pages)
  | 'not_found' // no such package, release, job or path (upstream included)
  | 'setup_refused' // setup cannot apply: hand edits, read-only files, broken links
  | 'confirmation_required' // a change of upstream identity that was not confirmed
  | 'conflict' // not now: the thing is in a state that does not allow it (a job still running)
  | 'too_large' // a body over its bound
  | 'too_long' // a request target over its bound
  | 'validation_failed' // values refused, field by field
  | 'internal' // a bug
  | 'upstream_failed' // the upstream refused, broke, or sent what does not verify
  | 'unavailable' // offline mode, shutting down
  | 'upstream_timeout' // the upstream did not answer in time
  | 'not_stored'; // the cache disk would not take it and there was nobody to pass it to

/** The one status map, used at the HTTP edge only. */
export const STATUS_OF: Record<ProblemKind, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  setup_refused: 409,
  confirmation_required: 409,
  conflict: 409,
  too_large: 413,
  too_long: 414,
  validation_failed: 422,
  internal: 500,
  upstream_failed: 502,
  unavailable: 503,
  upstream_timeout: 504,
  not_stored: 507,
};

export function isProblemKind(value: unknown): value is ProblemKind {
  return typeof value === 'string' && Object.hasOwn(STATUS_OF, value);
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Described {
  kind?: unknown;
  fields?: unknown;
  problems?: unknown;
  message?: unknown;
}

/**
 * What a person reads about an error, from the engine in process or from the API alike:
 * field messages one per line, setup's problems one per line, else the message.
 */
export function describeProblem(error: unknown): string {
  const e = (error ?? {}) as Described;
  if (Array.isArray(e.problems) && e.problems.length) return e.problems.map(String).join('\n');
  if (e.fields && typeof e.fields === 'object') {
    const lines = Object.entries(e.fields as Record<string, unknown>)
      .filter(([, message]) => typeof message === 'string')
      .map(([name, message]) => `${name}: ${String(message)}`);
    if (lines.length) return lines.join('\n');
  }
  return messageOf(error);
}
