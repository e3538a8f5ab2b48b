/**
 * What kind of failure a domain error is, in the domain's words. The HTTP edge maps each
 * kind to a status code; nothing below the controllers knows about HTTP.
 */
export type DomainErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'unavailable'
  | 'upstream_failed';

/** A typed, expected failure of a use case, with a stable machine-readable code. */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  /** Stable identifier clients may branch on, e.g. `booking.sold_out`. */
  abstract readonly code: string;
  /** For `rate_limited` and `unavailable`: when a retry makes sense. */
  readonly retryAfterSeconds?: number;
  /** For `invalid`: the offending fields. */
  readonly fieldErrors?: { field: string; message: string }[];
  /** Extra members of the problem answer (RFC 9457 extensions), e.g. `checkedInAt`. */
  readonly extensions?: Record<string, unknown>;

  constructor(message: string) {
    // An expected outcome (sold out, not found), never logged with a stack: skipping the
    // capture saves measurable time when an on-sale answers thousands of 409s a second.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = new.target.name;
  }
}
