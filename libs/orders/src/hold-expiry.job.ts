import { Injectable } from '@nestjs/common';
import { IntervalJob } from '@app/common';
import { TicketTransactions } from '@app/tickets';
import { OrderLifecycle } from './order-lifecycle';

const EVERY_MS = 1_000;
const BATCH = 500;

/**
 * Ends holds whose time is up. Safe to run in every instance at once: each batch takes the
 * overdue orders with SKIP LOCKED, so instances share the work instead of repeating it.
 * Relies on PostgreSQL only (not on Redis key expiry), so holds end even after Redis lost
 * its keys or a process died mid-booking.
 */
@Injectable()
export class HoldExpiryJob extends IntervalJob {
  constructor(
    private readonly lifecycle: OrderLifecycle,
    private readonly tickets: TicketTransactions,
  ) {
    super('Hold expiry', EVERY_MS);
  }

  /** Expires every overdue hold; returns how many. */
  async run(): Promise<number> {
    let expired = 0;
    for (;;) {
      const released = await this.tickets.run(async (manager, changes) => {
        const overdue: { id: string }[] = await manager.query(
          `SELECT id FROM orders WHERE status = 'pending' AND expires_at <= now()
           ORDER BY expires_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        );
        return changes.freed(
          await this.lifecycle.releasePending(
            manager,
            overdue.map((order) => order.id),
            'expired',
          ),
        );
      });
      expired += released.length;
      if (released.length < BATCH) break;
    }
    if (expired > 0) this.logger.log(`Expired ${expired} hold(s)`);
    return expired;
  }
}
