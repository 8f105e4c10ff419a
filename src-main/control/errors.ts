// The refusals a control call can end in, whichever way it came (in process or over HTTP);
// control-routes.ts turns each into its status and JSON body.
import type { UpstreamChange } from '../../src-shared/contract.js';

/** A refused request: field-level messages, so the dashboard can show each next to its field. */
export class ValidationError extends Error {
  constructor(
    readonly fields: Partial<Record<string, string>>,
    message = 'some values are not valid',
  ) {
    super(message);
  }
}

/** A change of the upstream's URL or key that the request did not confirm (409, with both identities). */
export class ConfirmationRequired extends Error {
  constructor(readonly change: UpstreamChange) {
    super(
      `changing the upstream from ${change.from.url} (key ${change.from.fingerprint}) to ${change.to.url} (key ${change.to.fingerprint}) must be confirmed: send confirmUpstreamChange with the new url and fingerprint`,
    );
  }
}
