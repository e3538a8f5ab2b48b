import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { RowByRowJob } from '@app/common';
import type { Environment } from '@app/config';
import { OrderRefunds } from './order-refunds';
import { isProviderAway } from './payments.errors';

const EVERY_MS = 2_000;
const BATCH = 25;

/**
 * Refunds payments that arrived after their order's tickets were sold on (see
 * PaymentWebhooks), until the provider has accepted each one: a paid order is never
 * dropped. The webhook only records the debt, so Stripe never waits on a refund call.
 * A refund the provider refuses is retried with backoff, then left for a human (RowBackoff),
 * so it never holds back the others. Safe in every instance: refunds carry an idempotency
 * key per order.
 */
@Injectable()
export class OwedRefundJob extends RowByRowJob {
  constructor(
    dataSource: DataSource,
    private readonly refunds: OrderRefunds,
    config: ConfigService<Environment, true>,
  ) {
    super('Owed refunds', EVERY_MS, 'owed_refund', dataSource, config);
  }

  /** Returns how many orders were refunded. */
  async run(): Promise<number> {
    const owed: { orderId: string; paymentIntentId: string }[] = await this.dataSource.query(
      `SELECT o.id AS "orderId", o.payment_intent_id AS "paymentIntentId" FROM orders o
       WHERE o.refund_due_at IS NOT NULL AND ${this.backoff.dueSql('o.id')}
       ORDER BY o.refund_due_at LIMIT ${BATCH}`,
    );
    const refunded = await this.backoff.forEach(
      owed,
      (order) => order.orderId,
      (order) => this.refunds.refund(order.orderId, order.paymentIntentId),
      isProviderAway,
    );
    if (refunded > 0) this.logger.log(`Refunded ${refunded} late payment(s)`);
    return refunded;
  }
}
