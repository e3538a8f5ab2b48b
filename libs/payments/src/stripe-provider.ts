import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import Stripe from 'stripe';
import type { Environment } from '@app/config';
import {
  PaymentProvider,
  type CheckoutSession,
  type CheckoutSessionRequest,
  type RefundRequest,
  type SessionExpiry,
} from './payment-provider';
import { PaymentProviderFailedError, PaymentProviderUnavailableError } from './payments.errors';

const RATE_LIMITED_RETRY_AFTER_SECONDS = 1;
const UNREACHABLE_RETRY_AFTER_SECONDS = 5;

/** The payment provider on Stripe's official SDK, aimed at api.stripe.com or at STRIPE_API_URL. */
export class StripeProvider extends PaymentProvider {
  private readonly logger = new Logger(StripeProvider.name);
  private readonly stripe: Stripe;

  constructor(secretKey: string, config: ConfigService<Environment, true>) {
    super();
    const apiUrl = config.get('STRIPE_API_URL', { infer: true });
    this.stripe = new Stripe(secretKey, {
      ...(apiUrl ? endpointOf(apiUrl) : {}),
      // One attempt per call: the caller retries (the buyer's next click, the job's next
      // run), so a slow provider costs at most one timeout.
      maxNetworkRetries: 0,
      timeout: config.get('STRIPE_TIMEOUT_MS', { infer: true }),
    });
  }

  async createCheckoutSession(request: CheckoutSessionRequest): Promise<CheckoutSession> {
    try {
      const session = await this.stripe.checkout.sessions.create(
        {
          mode: 'payment',
          line_items: request.lineItems.map((item) => ({
            quantity: item.quantity,
            price_data: {
              currency: request.currency,
              unit_amount: item.unitAmount,
              product_data: { name: item.name },
            },
          })),
          metadata: { orderId: request.orderId },
          client_reference_id: request.orderId,
          // So that the PaymentIntent's own events (payment_failed) name the order too.
          payment_intent_data: { metadata: { orderId: request.orderId } },
          customer_email: request.customerEmail,
          success_url: request.successUrl,
          cancel_url: request.cancelUrl,
          expires_at: Math.floor(request.expiresAt.getTime() / 1000),
        },
        { idempotencyKey: request.idempotencyKey },
      );
      if (!session.url) throw new Error(`Checkout session ${session.id} has no URL`);
      return { id: session.id, url: session.url };
    } catch (error) {
      throw this.failure(error, 'create a checkout session');
    }
  }

  async expireCheckoutSession(sessionId: string): Promise<SessionExpiry> {
    try {
      await this.stripe.checkout.sessions.expire(sessionId);
      return 'expired';
    } catch (error) {
      // Stripe only expires open sessions: this one completed, expired or is unknown.
      if (error instanceof Stripe.errors.StripeInvalidRequestError) return 'not_open';
      throw this.failure(error, `expire checkout session ${sessionId}`);
    }
  }

  async refund(request: RefundRequest): Promise<void> {
    try {
      await this.stripe.refunds.create(
        { payment_intent: request.paymentIntentId, metadata: { orderId: request.orderId } },
        { idempotencyKey: request.idempotencyKey },
      );
    } catch (error) {
      if (
        error instanceof Stripe.errors.StripeInvalidRequestError &&
        error.code === 'charge_already_refunded'
      ) {
        return;
      }
      throw this.failure(error, `refund order ${request.orderId}`);
    }
  }

  /** Stripe's answer as a domain error; its message goes to the log, not to the client. */
  private failure(error: unknown, what: string): unknown {
    if (error instanceof Stripe.errors.StripeRateLimitError) {
      const retryAfter = Number(error.headers?.['retry-after']);
      return new PaymentProviderUnavailableError(
        'rate limited',
        Number.isInteger(retryAfter) && retryAfter > 0
          ? retryAfter
          : RATE_LIMITED_RETRY_AFTER_SECONDS,
      );
    }
    if (error instanceof Stripe.errors.StripeConnectionError) {
      this.logger.warn(`Could not reach Stripe to ${what}: ${error.message}`);
      return new PaymentProviderUnavailableError(
        'unreachable or too slow',
        UNREACHABLE_RETRY_AFTER_SECONDS,
      );
    }
    if (error instanceof Stripe.errors.StripeAPIError) {
      // A 5xx: a fault on Stripe's side, which usually passes.
      this.logger.warn(`Stripe failed to ${what}: ${error.message}`);
      return new PaymentProviderUnavailableError('failing', UNREACHABLE_RETRY_AFTER_SECONDS);
    }
    if (error instanceof Stripe.errors.StripeError) {
      this.logger.warn(`Stripe refused to ${what}: ${error.message}`);
      return new PaymentProviderFailedError();
    }
    return error;
  }
}

/** STRIPE_API_URL (e.g. stripe-mock's http://localhost:12111) as the SDK's settings. */
function endpointOf(apiUrl: string): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  const url = new URL(apiUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port || (protocol === 'http' ? 80 : 443), protocol };
}
