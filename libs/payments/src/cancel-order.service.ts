import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import type { AuthUser } from '@app/auth';
import type { Environment } from '@app/config';
import {
  HoldRelease,
  OrderNotCancellableError,
  OrdersService,
  type Order,
  type OrderView,
} from '@app/orders';
import { OrderRefunds } from './order-refunds';
import { RefundWindowClosedError } from './payments.errors';

/**
 * The buyer (or an admin) cancels an order. A pending order's hold ends at once (its
 * checkout session is expired by CheckoutSessionExpiryJob). A confirmed order is refunded
 * through the provider while the event is more than REFUND_CUTOFF_HOURS away; if the
 * provider fails, the order stays confirmed.
 */
@Injectable()
export class CancelOrderService {
  private readonly cutoffMs: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly orders: OrdersService,
    private readonly holds: HoldRelease,
    private readonly refunds: OrderRefunds,
    config: ConfigService<Environment, true>,
  ) {
    this.cutoffMs = config.get('REFUND_CUTOFF_HOURS', { infer: true }) * 3600_000;
  }

  async cancel(orderId: string, caller: AuthUser): Promise<OrderView> {
    const order = await this.orders.findVisible(orderId, caller);
    if (order.status === 'pending') {
      const [released] = await this.holds.release([orderId], 'cancelled');
      // Paid, failed or expired between the read and the release.
      if (!released) throw notCancellable(await this.orders.findVisible(orderId, caller));
    } else if (order.status === 'confirmed') {
      await this.refund(order);
    } else {
      throw notCancellable(order);
    }
    return this.orders.get(orderId, caller);
  }

  private async refund(order: Order): Promise<void> {
    const [event]: { startsAt: Date }[] = await this.dataSource.query(
      `SELECT starts_at AS "startsAt" FROM events WHERE id = $1`,
      [order.eventId],
    );
    if (event.startsAt.getTime() - Date.now() <= this.cutoffMs)
      throw new RefundWindowClosedError(this.cutoffMs / 3600_000);
    if (!order.paymentIntentId) throw new Error(`Confirmed order ${order.id} has no payment`);
    await this.refunds.refund(order.id, order.paymentIntentId);
  }
}

function notCancellable(order: Order): OrderNotCancellableError {
  return new OrderNotCancellableError(`A ${order.status} order cannot be cancelled.`);
}
