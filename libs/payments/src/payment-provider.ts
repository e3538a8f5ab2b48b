export interface CheckoutLineItem {
  /** Shown to the buyer, e.g. "Concert — General Admission". */
  name: string;
  /** Minor units per ticket. */
  unitAmount: number;
  quantity: number;
}

export interface CheckoutSessionRequest {
  orderId: string;
  currency: string;
  lineItems: CheckoutLineItem[];
  customerEmail: string;
  successUrl: string;
  cancelUrl: string;
  expiresAt: Date;
  /** The same key makes the provider answer a repeated request with the first session. */
  idempotencyKey: string;
}

export interface CheckoutSession {
  id: string;
  /** Where the buyer pays. */
  url: string;
}

export interface RefundRequest {
  orderId: string;
  paymentIntentId: string;
  idempotencyKey: string;
}

/**
 * `expired`: the session can no longer be paid. `not_open`: it had already completed or
 * expired (a payment may have raced the expiry: its webhook decides what happens).
 */
export type SessionExpiry = 'expired' | 'not_open';

/**
 * The payment provider, as this module needs it. Two implementations: Stripe (any
 * Stripe-compatible API) and the local simulator used when no Stripe key is configured.
 * Failures are PaymentProviderUnavailableError (worth retrying soon) or
 * PaymentProviderFailedError.
 */
export abstract class PaymentProvider {
  abstract createCheckoutSession(request: CheckoutSessionRequest): Promise<CheckoutSession>;
  abstract expireCheckoutSession(sessionId: string): Promise<SessionExpiry>;
  /** Refunds the whole payment; a payment already refunded counts as done. */
  abstract refund(request: RefundRequest): Promise<void>;
}
