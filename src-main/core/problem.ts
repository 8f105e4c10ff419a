// The engine's errors for a client: a kind from the shared vocabulary (src-shared/problems.ts)
// and a plain reason. The HTTP edge alone turns the kind into a status.
import type { ProblemKind } from '../../src-shared/problems.js';

export class Problem extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    /** Extra response headers the edge sends with it (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'Problem';
  }
}
