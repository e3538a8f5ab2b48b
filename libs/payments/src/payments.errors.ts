import { DomainError } from '@app/common';

/** Why the provider could not answer: away as a whole, or failing on its side (a 5xx). */
export type ProviderUnavailability = 'rate limited' | 'unreachable or too slow' | 'failing';

/** Rate limited, timed out, unreachable or failing: the same request may work in a moment. */
export class PaymentProviderUnavailableError extends DomainError {
  readonly kind = 'unavailable';
  readonly code = 'payment.provider_unavailable';
  override readonly retryAfterSeconds: number;
  constructor(
    readonly reason: ProviderUnavailability,
    retryAfterSeconds: number,
  ) {
    super(
      `The payment provider is unavailable (${reason}); nothing was changed. Try again shortly.`,
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * For background jobs: the provider is away for every row, so the pass stops and tries later
 * without counting it against the row. A 5xx may be that one request's, so it counts (with
 * backoff): one row Stripe keeps failing on must not stall the others.
 */
export function isProviderAway(error: unknown): boolean {
  return error instanceof PaymentProviderUnavailableError && error.reason !== 'failing';
}

export class PaymentProviderFailedError extends DomainError {
  readonly kind = 'upstream_failed';
  readonly code = 'payment.provider_failed';
  constructor() {
    super('The payment provider refused the request; nothing was changed.');
  }
}

/** A wrong, tampered or foreign checkout token looks the same as an unknown order. */
export class CheckoutLinkNotFoundError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'payment.checkout_link_not_found';
  constructor() {
    super('There is no such checkout link.');
  }
}

export class HoldEndedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'payment.hold_ended';
  constructor() {
    super('This hold has ended (paid, expired, cancelled or failed); book again to buy tickets.');
  }
}

export class InvalidWebhookSignatureError extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'payment.webhook_signature_invalid';
  constructor() {
    super('The Stripe-Signature header is missing, wrong or too old for this body.');
  }
}

export class RefundWindowClosedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'order.refund_window_closed';
  constructor(cutoffHours: number) {
    super(`Paid orders can only be refunded until ${cutoffHours} hours before the event.`);
  }
}

/** Also the answer for every simulator route while a Stripe key is configured. */
export class SimulatorSessionNotFoundError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'payment.simulator_session_not_found';
  constructor() {
    super('There is no such simulated checkout session.');
  }
}

export class SimulatorSessionClosedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'payment.simulator_session_closed';
  constructor() {
    super('This checkout session is no longer open.');
  }
}
