import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import type { Environment } from '@app/config';
import { OrderLifecycle, type Order, type PaidOrderRefund } from '@app/orders';
import { TicketTransactions } from '@app/tickets';
import { PaymentProvider } from './payment-provider';
import { RefundWindowClosedError } from './payments.errors';

/**
 * Refunds: a paid order's money goes back through the provider, then the order becomes
 * `refunded` and its tickets are sold again — once, whether the buyer's cancel, the refund
 * job or Stripe's `charge.refunded` event gets there first. The orders module's cancel route
 * reaches it as PaidOrderRefund (bound where the app composes its modules).
 */
@Injectable()
export class OrderRefunds implements PaidOrderRefund {
  private readonly cutoffMs: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly provider: PaymentProvider,
    private readonly lifecycle: OrderLifecycle,
    private readonly tickets: TicketTransactions,
    config: ConfigService<Environment, true>,
  ) {
    this.cutoffMs = config.get('REFUND_CUTOFF_HOURS', { infer: true }) * 3600_000;
  }

  /** Throws PaymentProviderUnavailableError / PaymentProviderFailedError, changing nothing. */
  async refund(orderId: string, paymentIntentId: string): Promise<void> {
    // One key per order: however often this runs, the provider refunds the order once.
    await this.provider.refund({ orderId, paymentIntentId, idempotencyKey: `refund-${orderId}` });
    await this.tickets.run(async (manager, changes) =>
      changes.freed(await this.lifecycle.markRefunded(manager, orderId)),
    );
  }

  /** The buyer cancels a confirmed order: refunded only while the event is far enough away. */
  async refundCancelled(order: Order): Promise<void> {
    const [event]: { startsAt: Date }[] = await this.dataSource.query(
      `SELECT starts_at AS "startsAt" FROM events WHERE id = $1`,
      [order.eventId],
    );
    if (event.startsAt.getTime() - Date.now() <= this.cutoffMs)
      throw new RefundWindowClosedError(this.cutoffMs / 3600_000);
    if (!order.paymentIntentId) throw new Error(`Confirmed order ${order.id} has no payment`);
    await this.refund(order.id, order.paymentIntentId);
  }
}
