import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError, IntervalJob } from '@app/common';
import { OrderRefunds } from './order-refunds';
import { PaymentProviderUnavailableError } from './payments.errors';

const EVERY_MS = 2_000;
const BATCH = 25;

/**
 * Refunds payments that arrived after their order's tickets were sold on (see
 * PaymentWebhooks), until the provider has accepted each one: a paid order is never
 * dropped. The webhook only records the debt, so Stripe never waits on a refund call.
 * Safe in every instance: refunds carry an idempotency key per order.
 */
@Injectable()
export class OwedRefundJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OwedRefundJob.name);
  private readonly job = new IntervalJob('Owed refunds', EVERY_MS, () => this.run(), this.logger);

  constructor(
    private readonly dataSource: DataSource,
    private readonly refunds: OrderRefunds,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** Returns how many orders were refunded. */
  async run(): Promise<number> {
    const owed: { orderId: string; paymentIntentId: string }[] = await this.dataSource.query(
      `SELECT id AS "orderId", payment_intent_id AS "paymentIntentId" FROM orders
       WHERE refund_due_at IS NOT NULL ORDER BY refund_due_at LIMIT ${BATCH}`,
    );
    let refunded = 0;
    for (const { orderId, paymentIntentId } of owed) {
      try {
        await this.refunds.refund(orderId, paymentIntentId);
        refunded += 1;
      } catch (error) {
        if (error instanceof PaymentProviderUnavailableError) {
          this.logger.warn(`Payment provider unavailable; refunding later: ${error.message}`);
          break;
        }
        if (!(error instanceof DomainError)) throw error;
        this.logger.error(`Could not refund order ${orderId}, retrying: ${error.message}`);
      }
    }
    if (refunded > 0) this.logger.log(`Refunded ${refunded} late payment(s)`);
    return refunded;
  }
}
