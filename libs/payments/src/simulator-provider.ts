import { randomBytes } from 'node:crypto';
import type { ConfigService } from '@nestjs/config';
import type { Environment } from '@app/config';
import {
  PaymentProvider,
  type CheckoutSession,
  type CheckoutSessionRequest,
  type SessionExpiry,
} from './payment-provider';

export const SIMULATOR_SESSION_PREFIX = 'sim_cs_';

/**
 * The payment provider for local use (no STRIPE_SECRET_KEY): sessions point at this server's
 * simulator page, whose buttons send the webhook events Stripe would. Its sessions live in
 * the orders' checkout session columns, so they survive restarts; the simulator page stops
 * offering payment once CheckoutSessionExpiryJob has closed a session.
 */
export class SimulatorProvider extends PaymentProvider {
  private readonly publicUrl: string;

  constructor(config: ConfigService<Environment, true>) {
    super();
    this.publicUrl = config.get('publicUrl', { infer: true });
  }

  createCheckoutSession(_request: CheckoutSessionRequest): Promise<CheckoutSession> {
    const id = `${SIMULATOR_SESSION_PREFIX}${randomBytes(18).toString('base64url')}`;
    return Promise.resolve({ id, url: `${this.publicUrl}/api/v1/payments/simulator/${id}` });
  }

  expireCheckoutSession(_sessionId: string): Promise<SessionExpiry> {
    return Promise.resolve('expired');
  }

  /** Simulated payments move no money. */
  refund(): Promise<void> {
    return Promise.resolve();
  }
}
