import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { groupByPool, TicketLockService } from '@app/tickets';

export type HoldOutcome = 'expired' | 'cancelled' | 'failed';

export interface ReleasedOrder {
  orderId: string;
  eventId: string;
  tickets: { id: string; ticketTypeId: string }[];
}

/**
 * The one way a hold ends without a sale — expiry, cancellation, failed payment: the order
 * leaves `pending` and its tickets become available again in the same statement, guarded
 * by the order's current state so that a hold ends exactly once however many callers race.
 * Freed ids go back to the lock store after the commit.
 */
@Injectable()
export class HoldRelease {
  constructor(
    private readonly dataSource: DataSource,
    private readonly lock: TicketLockService,
  ) {}

  async release(orderIds: string[], outcome: HoldOutcome): Promise<ReleasedOrder[]> {
    const released = await this.dataSource.transaction((manager) =>
      this.releaseInTransaction(manager, orderIds, outcome),
    );
    await this.returnToLockStore(released);
    return released;
  }

  /** For callers that end holds as part of a larger transaction; call returnToLockStore after it commits. */
  async releaseInTransaction(
    manager: EntityManager,
    orderIds: string[],
    outcome: HoldOutcome,
  ): Promise<ReleasedOrder[]> {
    if (orderIds.length === 0) return [];
    const rows: {
      orderId: string;
      eventId: string;
      ticketId: string | null;
      ticketTypeId: string | null;
    }[] = await manager.query(
      `WITH ended AS (
           UPDATE orders SET status = $2, updated_at = now()
           WHERE id = ANY($1::uuid[]) AND status = 'pending'
           RETURNING id, event_id, quantity
         ), freed AS (
           UPDATE tickets t SET status = 'available', order_id = NULL, held_until = NULL
           FROM ended WHERE t.order_id = ended.id AND t.status = 'locked'
           RETURNING t.id, t.ticket_type_id, ended.id AS order_id
         ), announced AS (
           INSERT INTO outbox (topic, payload)
           SELECT 'ticket_availability',
                  jsonb_build_object('type', 'unlocked', 'eventId', event_id, 'orderId', id,
                                     'quantity', quantity, 'outcome', $2::text)
           FROM ended
         )
         SELECT ended.id AS "orderId", ended.event_id AS "eventId",
                freed.id AS "ticketId", freed.ticket_type_id AS "ticketTypeId"
         FROM ended LEFT JOIN freed ON freed.order_id = ended.id`,
      [orderIds, outcome],
    );
    const byOrder = new Map<string, ReleasedOrder>();
    for (const row of rows) {
      const order = byOrder.get(row.orderId) ?? {
        orderId: row.orderId,
        eventId: row.eventId,
        tickets: [],
      };
      if (row.ticketId && row.ticketTypeId)
        order.tickets.push({ id: row.ticketId, ticketTypeId: row.ticketTypeId });
      byOrder.set(row.orderId, order);
    }
    return [...byOrder.values()];
  }

  async returnToLockStore(released: ReleasedOrder[]): Promise<void> {
    const tickets = released.flatMap((order) =>
      order.tickets.map((ticket) => ({ ...ticket, eventId: order.eventId })),
    );
    for (const { pool, ticketIds } of groupByPool(tickets))
      await this.lock.release(pool, ticketIds);
  }
}
