import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { RowByRowJob } from '@app/common';
import type { Environment } from '@app/config';
import { CheckoutSessions } from './checkout-sessions';
import { PaymentProvider } from './payment-provider';
import { isProviderAway } from './payments.errors';

const EVERY_MS = 2_000;
/** At most ~12 calls per second: well within Stripe's default limit per endpoint (25/s). */
const BATCH = 25;

/**
 * Expires at the provider the checkout sessions of holds that ended without a payment
 * (expired, cancelled, failed), so a buyer can no longer pay for tickets that went back on
 * sale. Runs apart from the hold's end, so the end never waits on the provider, and an
 * unreachable provider is simply tried again on a later run; a session the provider refuses
 * to expire is retried with backoff, then left for a human (RowBackoff). Safe in every
 * instance: a session expired twice is answered "not open" the second time.
 */
@Injectable()
export class CheckoutSessionExpiryJob extends RowByRowJob {
  constructor(
    dataSource: DataSource,
    private readonly provider: PaymentProvider,
    private readonly sessions: CheckoutSessions,
    config: ConfigService<Environment, true>,
  ) {
    super('Checkout session expiry', EVERY_MS, 'checkout_session_expiry', dataSource, config);
  }

  /** Returns how many sessions were closed. */
  async run(): Promise<number> {
    const open: { orderId: string; sessionId: string }[] = await this.dataSource.query(
      `SELECT o.id AS "orderId", o.checkout_session_id AS "sessionId" FROM orders o
       WHERE o.checkout_session_id IS NOT NULL AND o.checkout_session_closed_at IS NULL
         AND o.status IN ('expired', 'cancelled', 'failed') AND ${this.backoff.dueSql('o.id')}
       ORDER BY o.updated_at LIMIT ${BATCH}`,
    );
    return this.backoff.forEach(
      open,
      (order) => order.orderId,
      async ({ orderId, sessionId }) => {
        const expiry = await this.provider.expireCheckoutSession(sessionId);
        // A payment raced the expiry: its webhook decides whether the order is confirmed.
        if (expiry === 'not_open')
          this.logger.log(`Checkout session of order ${orderId} had already completed or expired`);
        await this.sessions.close(this.dataSource, orderId, sessionId);
      },
      isProviderAway,
    );
  }
}
