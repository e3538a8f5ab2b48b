import { Injectable } from '@nestjs/common';
import { TicketTransactions } from '@app/tickets';
import { OrderLifecycle, type ReleasedOrder, type ReleaseReason } from './order-lifecycle';

/**
 * Ends holds without a sale (OrderLifecycle.releasePending); their tickets go to the
 * waitlist first, then back to the lock store after the commit (TicketTransactions).
 */
@Injectable()
export class HoldRelease {
  constructor(
    private readonly lifecycle: OrderLifecycle,
    private readonly tickets: TicketTransactions,
  ) {}

  /** Returns the orders it ended, each with the tickets that went back to the public. */
  release(orderIds: string[], reason: ReleaseReason): Promise<ReleasedOrder[]> {
    return this.tickets.run(async (manager, changes) =>
      changes.freed(await this.lifecycle.releasePending(manager, orderIds, reason)),
    );
  }
}
