import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError, IntervalJob } from '@app/common';
import { PaymentGateway } from './payment-gateway';
import { PaymentProviderUnavailableError } from './payments.errors';

const EVERY_MS = 2_000;
/** At most ~12 calls per second: well within Stripe's default limit per endpoint (25/s). */
const BATCH = 25;

/**
 * Expires at the provider the checkout sessions of holds that ended without a payment
 * (expired, cancelled, failed), so a buyer can no longer pay for tickets that went back on
 * sale. Runs apart from the hold's end, so the end never waits on the provider, and an
 * unreachable provider is simply tried again on a later run. Safe in every instance: a
 * session expired twice is answered "not open" the second time.
 */
@Injectable()
export class CheckoutSessionExpiryJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(CheckoutSessionExpiryJob.name);
  private readonly job = new IntervalJob(
    'Checkout session expiry',
    EVERY_MS,
    () => this.run(),
    this.logger,
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly gateway: PaymentGateway,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** Returns how many sessions were closed. */
  async run(): Promise<number> {
    const open: { orderId: string; sessionId: string }[] = await this.dataSource.query(
      `SELECT id AS "orderId", checkout_session_id AS "sessionId" FROM orders
       WHERE checkout_session_id IS NOT NULL AND checkout_session_closed_at IS NULL
         AND status IN ('expired', 'cancelled', 'failed')
       ORDER BY updated_at LIMIT ${BATCH}`,
    );
    let closed = 0;
    for (const { orderId, sessionId } of open) {
      try {
        const expiry = await this.gateway.expireCheckoutSession(sessionId);
        // A payment raced the expiry: its webhook decides whether the order is confirmed.
        if (expiry === 'not_open')
          this.logger.log(`Checkout session of order ${orderId} had already completed or expired`);
      } catch (error) {
        if (error instanceof PaymentProviderUnavailableError) {
          this.logger.warn(
            `Payment provider unavailable; expiring sessions later: ${error.message}`,
          );
          break;
        }
        if (!(error instanceof DomainError)) throw error;
        this.logger.warn(
          `Could not expire the checkout session of order ${orderId}: ${error.message}`,
        );
        continue;
      }
      await this.dataSource.query(
        `UPDATE orders SET checkout_session_closed_at = now()
         WHERE id = $1 AND checkout_session_id = $2 AND checkout_session_closed_at IS NULL`,
        [orderId, sessionId],
      );
      closed += 1;
    }
    return closed;
  }
}
