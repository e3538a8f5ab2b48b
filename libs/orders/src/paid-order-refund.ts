import type { Order } from './order.entity';

/**
 * Refunds a confirmed order its buyer cancels: the payments module provides it (it owns the
 * provider and the refund window, and imports this module, so it cannot be called directly);
 * the app binds it where it composes its modules. Throws the provider's errors, changing
 * nothing then.
 */
export abstract class PaidOrderRefund {
  abstract refundCancelled(order: Order): Promise<void>;
}
