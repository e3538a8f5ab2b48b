import { Injectable } from '@nestjs/common';
import type { AuthUser } from '@app/auth';
import { HoldRelease } from './hold-release';
import type { Order } from './order.entity';
import type { OrderView } from './orders.dto';
import { OrderNotCancellableError } from './orders.errors';
import { OrdersService } from './orders.service';
import { PaidOrderRefund } from './paid-order-refund';

/**
 * The buyer (or an admin) cancels an order. A pending order's hold ends at once (its
 * checkout session is expired by CheckoutSessionExpiryJob). A confirmed order is refunded
 * (PaidOrderRefund: through the provider while the event is more than REFUND_CUTOFF_HOURS
 * away); if the provider fails, the order stays confirmed.
 */
@Injectable()
export class CancelOrderService {
  constructor(
    private readonly orders: OrdersService,
    private readonly holds: HoldRelease,
    private readonly refund: PaidOrderRefund,
  ) {}

  async cancel(orderId: string, caller: AuthUser): Promise<OrderView> {
    const order = await this.orders.findVisible(orderId, caller);
    if (order.status === 'pending') {
      const [released] = await this.holds.release([orderId], 'cancelled');
      // Paid, failed or expired between the read and the release.
      if (!released) throw notCancellable(await this.orders.findVisible(orderId, caller));
    } else if (order.status === 'confirmed') {
      await this.refund.refundCancelled(order);
    } else {
      throw notCancellable(order);
    }
    return this.orders.get(orderId, caller);
  }
}

function notCancellable(order: Order): OrderNotCancellableError {
  return new OrderNotCancellableError(`A ${order.status} order cannot be cancelled.`);
}
