import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { groupByPool, TicketLockService } from '@app/tickets';
import { OrderLifecycle, type ReleasedOrder, type ReleaseReason } from './order-lifecycle';

/**
 * Ends holds without a sale (OrderLifecycle.releasePending) and gives the freed ids back to
 * the lock store after the commit.
 */
@Injectable()
export class HoldRelease {
  constructor(
    private readonly dataSource: DataSource,
    private readonly lifecycle: OrderLifecycle,
    private readonly lock: TicketLockService,
  ) {}

  async release(orderIds: string[], reason: ReleaseReason): Promise<ReleasedOrder[]> {
    const released = await this.dataSource.transaction((manager) =>
      this.lifecycle.releasePending(manager, orderIds, reason),
    );
    await this.returnToLockStore(released);
    return released;
  }

  async returnToLockStore(released: ReleasedOrder[]): Promise<void> {
    const tickets = released.flatMap((order) =>
      order.tickets.map((ticket) => ({ ...ticket, eventId: order.eventId })),
    );
    for (const { pool, ticketIds } of groupByPool(tickets))
      await this.lock.release(pool, ticketIds);
  }
}
