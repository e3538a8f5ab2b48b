import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HoldRelease, OrderLifecycle } from '@app/orders';
import { PaymentProvider } from './payment-provider';

/**
 * Refunds: a paid order's money goes back through the provider, then the order becomes
 * `refunded` and its tickets are sold again — once, whether the buyer's cancel, the refund
 * job or Stripe's `charge.refunded` event gets there first.
 */
@Injectable()
export class OrderRefunds {
  constructor(
    private readonly dataSource: DataSource,
    private readonly provider: PaymentProvider,
    private readonly lifecycle: OrderLifecycle,
    private readonly holds: HoldRelease,
  ) {}

  /** Throws PaymentProviderUnavailableError / PaymentProviderFailedError, changing nothing. */
  async refund(orderId: string, paymentIntentId: string): Promise<void> {
    // One key per order: however often this runs, the provider refunds the order once.
    await this.provider.refund({ orderId, paymentIntentId, idempotencyKey: `refund-${orderId}` });
    const released = await this.dataSource.transaction((manager) =>
      this.lifecycle.markRefunded(manager, orderId),
    );
    await this.holds.returnToLockStore(released);
  }
}
