import type { Order } from './order.entity';

/**
 * Refunds a confirmed order its buyer cancels: the payments module provides it (it owns the
 * provider and the refund window). Throws the provider's errors, changing nothing then.
 */
export abstract class PaidOrderRefund {
  abstract refundCancelled(order: Order): Promise<void>;
}
