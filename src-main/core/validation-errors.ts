// The refusals a control call can end in, whichever way it came (in process or over HTTP):
// Problems with what the caller needs to act on. The control routes send each as JSON.
import type { UpstreamChange } from '../../src-shared/contract.js';
import { Problem } from './problem.js';

/** A refused request: field-level messages, so the dashboard can show each next to its field. */
export class ValidationError extends Problem {
  constructor(
    readonly fields: Partial<Record<string, string>>,
    message = 'some values are not valid',
  ) {
    super('validation_failed', message);
  }
}

/** A malformed query, field by field (the cache listing's). */
export class QueryError extends Problem {
  constructor(readonly fields: Record<string, string>) {
    super(
      'bad_request',
      Object.entries(fields)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; '),
    );
  }
}

/** A change of the upstream's URL or key that the request did not confirm, with both identities. */
export class ConfirmationRequired extends Problem {
  constructor(readonly change: UpstreamChange) {
    super(
      'confirmation_required',
      `changing the upstream from ${change.from.url} (key ${change.from.fingerprint}) to ${change.to.url} (key ${change.to.fingerprint}) must be confirmed: send confirmUpstreamChange with the new url and fingerprint`,
    );
  }
}
