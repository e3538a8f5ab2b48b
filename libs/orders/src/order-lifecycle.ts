import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Outbox, sql } from '@app/outbox';
import type { EventOrders } from '@app/events';
import { TICKET_LABEL_SQL, type EventTickets, type FreedTicket } from '@app/tickets';
import type { Order, OrderStatus } from './order.entity';
import { availabilityChange, paymentNotification } from './order-outbox-rows';

/**
 * An order's state in the transition table: its status, or `refund_due` — the order keeps
 * its status (expired, cancelled, failed or confirmed) and owes its buyer the payment back
 * (`refund_due_at`), until OwedRefundJob or the provider's refund makes it `refunded`.
 */
export type OrderState = OrderStatus | 'refund_due';

export interface OrderTransition {
  /** null: the order is created. */
  readonly from: OrderState | null;
  readonly to: OrderState;
  /** What makes it happen. */
  readonly by: string;
  /** What its tickets do. */
  readonly tickets: string;
  /** The one method whose statement makes it (`Class.method`). */
  readonly method: string;
}

/**
 * Every status change of an order (and with it of its tickets). Each is a conditional update
 * on the current state, so racing callers and provider events that arrive out of order
 * converge, and each writes its outbox rows in the same statement or transaction. Only the
 * classes named here write `orders.status` or a ticket's status, and docs/order-lifecycle.md
 * draws this table as its state diagram (order-lifecycle.spec.ts checks both).
 * Waitlist entries follow their offer's order: offered → `fulfilled` when it is paid,
 * → `expired` when it is released, in the same statement.
 */
export const ORDER_TRANSITIONS = [
  {
    from: null,
    to: 'pending',
    by: 'booking',
    tickets: 'available → locked',
    method: 'HoldBatcher.hold',
  },
  {
    from: null,
    to: 'pending',
    by: 'a release offers the freed tickets to the waitlist',
    tickets: 'available → locked',
    method: 'OrderLifecycle.holdForWaitlist',
  },
  {
    from: 'pending',
    to: 'expired',
    by: 'the hold expiry job, `checkout.session.expired`',
    tickets: 'locked → available (the waitlist first)',
    method: 'OrderLifecycle.releasePending',
  },
  {
    from: 'pending',
    to: 'cancelled',
    by: 'the buyer or an admin cancels; the buyer leaves the waitlist with an open offer',
    tickets: 'locked → available (the waitlist first)',
    method: 'OrderLifecycle.releasePending',
  },
  {
    from: 'pending',
    to: 'failed',
    by: '`checkout.session.async_payment_failed`, `payment_intent.payment_failed`',
    tickets: 'locked → available (the waitlist first)',
    method: 'OrderLifecycle.releasePending',
  },
  {
    from: 'pending',
    to: 'cancelled',
    by: 'the event is cancelled',
    tickets: 'locked → available',
    method: 'OrderLifecycle.cancelEventOrders',
  },
  {
    from: 'pending',
    to: 'confirmed',
    by: 'paid',
    tickets: 'locked → sold',
    method: 'OrderLifecycle.confirm',
  },
  ...(['expired', 'cancelled', 'failed'] as const).flatMap((from) => [
    {
      from,
      to: 'confirmed' as const,
      by: 'paid late, every ticket still available',
      tickets: 'available → sold',
      method: 'OrderLifecycle.confirmLate',
    },
    {
      from,
      to: 'refund_due' as const,
      by: 'paid late, some ticket sold on, or the event is cancelled',
      tickets: 'none',
      method: 'OrderLifecycle.confirmLate',
    },
  ]),
  {
    from: 'pending',
    to: 'refund_due',
    by: 'paid, but the event is cancelled: the order ends `cancelled`, owing the payment back',
    tickets: 'locked → available',
    method: 'OrderLifecycle.confirmLate',
  },
  {
    from: 'confirmed',
    to: 'refund_due',
    by: 'the event is cancelled',
    tickets: 'stay sold until the refund',
    method: 'OrderLifecycle.cancelEventOrders',
  },
  {
    from: 'confirmed',
    to: 'refunded',
    by: 'the buyer or an admin cancels before the cutoff, `charge.refunded`',
    tickets: 'sold → available (the waitlist first)',
    method: 'OrderLifecycle.markRefunded',
  },
  {
    from: 'refund_due',
    to: 'refunded',
    by: 'OwedRefundJob, `charge.refunded`',
    tickets: 'sold → available, if the order was confirmed',
    method: 'OrderLifecycle.markRefunded',
  },
] as const satisfies readonly OrderTransition[];

export type ReleaseReason = 'expired' | 'cancelled' | 'failed';

export interface ReleasedOrder extends EventTickets {
  orderId: string;
  eventId: string;
  /** The freed tickets (once through TicketChanges.freed: those not offered to the waitlist). */
  tickets: FreedTicket[];
}

/** A waitlist offer's hold (OrderLifecycle.holdForWaitlist). */
export interface WaitlistHold {
  userId: string;
  eventId: string;
  ticketIds: string[];
  expiresInMinutes: number;
}

/** What a payment for an order whose hold had ended did. */
export type LatePayment =
  | { outcome: 'retaken'; order: ReleasedOrder }
  | { outcome: 'refund_due' }
  | { outcome: 'unchanged' };

type Queryable = Pick<EntityManager, 'query'>;

type TicketRow = {
  orderId: string;
  eventId: string;
  ticketId: string | null;
  ticketTypeId: string | null;
};

/**
 * The transitions of ORDER_TRANSITIONS but the booking hold (HoldBatcher). Every method runs
 * in the caller's transaction (`manager`); none keeps state or reads configuration.
 */
@Injectable()
export class OrderLifecycle implements EventOrders {
  /**
   * (new) → pending for a waitlist offer: the freed `ticketIds` (available → locked) held for
   * the waiting user until `expiresInMinutes` from now, with the offer's notification. Null
   * when the user already holds a pending order for the event (the unique index of pending
   * orders: the release must not fail). Run in the transaction that freed the tickets.
   */
  async holdForWaitlist(manager: Queryable, offer: WaitlistHold): Promise<string | null> {
    const [made]: { id: string }[] = await manager.query(
      `WITH new_order AS (
         INSERT INTO orders (id, user_id, event_id, status, quantity, total_amount, currency,
                             expires_at)
         SELECT gen_random_uuid(), $2, e.id, 'pending', cardinality($3::uuid[]),
                (SELECT sum(tt.price) FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
                 WHERE t.id = ANY($3::uuid[])),
                e.currency, now() + make_interval(mins => $4)
         FROM events e WHERE e.id = $1
         ON CONFLICT (user_id, event_id) WHERE status = 'pending' DO NOTHING
         RETURNING *
       ), taken AS (
         UPDATE tickets t SET status = 'locked', order_id = new_order.id,
                              held_until = new_order.expires_at
         FROM new_order WHERE t.id = ANY($3::uuid[]) AND t.status = 'available'
         RETURNING t.id, t.ticket_type_id, t.serial
       ), items AS (
         INSERT INTO order_items (order_id, ticket_id, ticket_type_id, label, price)
         SELECT new_order.id, t.id, t.ticket_type_id, ${TICKET_LABEL_SQL}, tt.price
         FROM new_order, taken t JOIN ticket_types tt ON tt.id = t.ticket_type_id
       ), announced AS (
         ${Outbox.insertSql(
           availabilityChange(
             {
               type: 'locked',
               eventId: sql('event_id'),
               orderId: sql('id'),
               quantity: sql('quantity'),
             },
             'new_order',
           ),
           paymentNotification('waitlist_offer', 'new_order o'),
         )}
       )
       SELECT id FROM new_order`,
      [offer.eventId, offer.userId, offer.ticketIds, offer.expiresInMinutes],
    );
    return made?.id ?? null;
  }

  /**
   * pending → expired / cancelled / failed, tickets locked → available: a hold ends exactly
   * once however many callers race. Returns the freed tickets: the caller hands them to
   * TicketChanges.freed in the same transaction (the waitlist first, then the lock store
   * after the commit). An offer's entry ends `expired` with its order (unless it was left
   * first).
   */
  async releasePending(
    manager: Queryable,
    orderIds: string[],
    reason: ReleaseReason,
  ): Promise<ReleasedOrder[]> {
    if (orderIds.length === 0) return [];
    const rows: TicketRow[] = await manager.query(
      `WITH ended AS (
         UPDATE orders o SET status = $2, updated_at = now()
         WHERE id = ANY($1::uuid[]) AND status = 'pending'
         RETURNING o.*
       ), freed AS (
         UPDATE tickets t SET status = 'available', order_id = NULL, held_until = NULL
         FROM ended WHERE t.order_id = ended.id AND t.status = 'locked'
         RETURNING t.id, t.ticket_type_id, ended.id AS order_id
       ), lapsed AS (
         UPDATE waitlist_entries w SET status = 'expired', updated_at = now()
         FROM ended WHERE w.order_id = ended.id AND w.status = 'offered'
       ), announced AS (
         ${Outbox.insertSql(
           availabilityChange(
             {
               type: 'unlocked',
               eventId: sql('event_id'),
               orderId: sql('id'),
               quantity: sql('quantity'),
               reason: sql('$2::text'),
             },
             'ended',
           ),
           paymentNotification('failed', `ended o WHERE $2 = 'failed'`),
           // Only a buyer who had opened the checkout link is waiting to hear about it.
           paymentNotification(
             'expired',
             `ended o WHERE $2 = 'expired' AND o.checkout_session_id IS NOT NULL`,
           ),
         )}
       )
       SELECT ended.id AS "orderId", ended.event_id AS "eventId",
              freed.id AS "ticketId", freed.ticket_type_id AS "ticketTypeId"
       FROM ended LEFT JOIN freed ON freed.order_id = ended.id`,
      [orderIds, reason],
    );
    return groupTickets(rows);
  }

  /**
   * pending → confirmed, tickets locked → sold (a waitlist offer's entry → fulfilled). False
   * when the order was not pending or its event is cancelled (confirmLate then owes a refund).
   * The event is read in the same statement: event cancellation locks the event's orders
   * after setting its status, so a confirm either commits first (and is refunded by the
   * cancellation) or finds the order no longer pending.
   */
  async confirm(manager: Queryable, orderId: string, paymentIntentId: string): Promise<boolean> {
    const confirmed: unknown[] = await manager.query(
      `WITH confirmed AS (
         UPDATE orders o SET status = 'confirmed', payment_intent_id = $2, updated_at = now()
         WHERE id = $1 AND status = 'pending'
           AND EXISTS (SELECT 1 FROM events e WHERE e.id = o.event_id AND e.status <> 'cancelled')
         RETURNING o.*
       ), sold AS (
         UPDATE tickets t SET status = 'sold', held_until = NULL
         FROM confirmed WHERE t.order_id = confirmed.id AND t.status = 'locked'
         RETURNING t.id
       ), fulfilled AS (
         UPDATE waitlist_entries w SET status = 'fulfilled', updated_at = now()
         FROM confirmed WHERE w.order_id = confirmed.id AND w.status = 'offered'
       ), announced AS (
         ${Outbox.insertSql(
           paymentNotification('succeeded', 'confirmed o'),
           availabilityChange(
             {
               type: 'sold',
               eventId: sql('event_id'),
               orderId: sql('id'),
               quantity: sql('quantity'),
             },
             'confirmed',
           ),
         )}
       )
       SELECT id FROM confirmed`,
      [orderId, paymentIntentId],
    );
    return confirmed.length > 0;
  }

  /**
   * The hold ended (expired, cancelled, failed) before the payment arrived: the same tickets
   * are taken back (available → sold, all or none) and the order confirmed, else the order
   * owes a refund (markRefundDue). Run in a transaction: the order and tickets stay locked.
   */
  async confirmLate(
    manager: Queryable,
    orderId: string,
    paymentIntentId: string,
  ): Promise<LatePayment> {
    const [order]: {
      eventId: string;
      quantity: number;
      status: Order['status'];
      ended: boolean;
      eventCancelled: boolean;
    }[] = await manager.query(
      `SELECT o.event_id AS "eventId", o.quantity, o.status,
              o.status IN ('expired', 'cancelled', 'failed') AND o.refund_due_at IS NULL AS ended,
              e.status = 'cancelled' AS "eventCancelled"
       FROM orders o JOIN events e ON e.id = o.event_id
       WHERE o.id = $1 FOR UPDATE OF o`,
      [orderId],
    );
    // A cancelled event's orders are never confirmed: a hold still pending ends now.
    if (order.eventCancelled && (order.ended || order.status === 'pending')) {
      await this.releasePending(manager, [orderId], 'cancelled');
      await this.markRefundDue(manager, orderId, paymentIntentId);
      return { outcome: 'refund_due' };
    }
    // Confirmed or refunded already, or a refund is already owed: nothing more to do.
    if (!order.ended) return { outcome: 'unchanged' };

    // Locked here, so no booking can take them until this commits.
    const free: { id: string; ticketTypeId: string }[] = await manager.query(
      `SELECT t.id, t.ticket_type_id AS "ticketTypeId"
       FROM order_items oi JOIN tickets t ON t.id = oi.ticket_id
       WHERE oi.order_id = $1 AND t.status = 'available'
       FOR UPDATE OF t`,
      [orderId],
    );
    if (free.length < order.quantity) {
      await this.markRefundDue(manager, orderId, paymentIntentId);
      return { outcome: 'refund_due' };
    }
    await manager.query(
      `WITH retaken AS (
         UPDATE orders SET status = 'confirmed', payment_intent_id = $2, updated_at = now()
         WHERE id = $1 AND status IN ('expired', 'cancelled', 'failed')
         RETURNING *
       ), sold AS (
         UPDATE tickets t SET status = 'sold', order_id = retaken.id
         FROM retaken WHERE t.id = ANY($3::uuid[])
       ), fulfilled AS (
         UPDATE waitlist_entries w SET status = 'fulfilled', updated_at = now()
         FROM retaken WHERE w.order_id = retaken.id AND w.status IN ('offered', 'expired')
       ), announced AS (
         ${Outbox.insertSql(
           paymentNotification('succeeded', 'retaken o'),
           availabilityChange(
             {
               type: 'sold',
               eventId: sql('event_id'),
               orderId: sql('id'),
               quantity: sql('quantity'),
             },
             'retaken',
           ),
         )}
       )
       SELECT 1`,
      [orderId, paymentIntentId, free.map((ticket) => ticket.id)],
    );
    return { outcome: 'retaken', order: { orderId, eventId: order.eventId, tickets: free } };
  }

  /** An ended order was paid but its tickets are gone: OwedRefundJob refunds it. */
  private async markRefundDue(
    manager: Queryable,
    orderId: string,
    paymentIntentId: string,
  ): Promise<void> {
    await manager.query(
      `UPDATE orders SET payment_intent_id = $2, refund_due_at = now(), updated_at = now()
       WHERE id = $1 AND refund_due_at IS NULL`,
      [orderId, paymentIntentId],
    );
  }

  /**
   * confirmed (or owing a refund) → refunded; a confirmed order's tickets sold → available.
   * Returns the freed tickets, for TicketChanges.freed in the same transaction.
   */
  async markRefunded(manager: Queryable, orderId: string): Promise<ReleasedOrder[]> {
    const rows: TicketRow[] = await manager.query(
      `WITH refunded AS (
         UPDATE orders SET status = 'refunded', refund_due_at = NULL, updated_at = now()
         WHERE id = $1 AND (status = 'confirmed' OR refund_due_at IS NOT NULL)
         RETURNING *
       ), freed AS (
         UPDATE tickets t SET status = 'available', order_id = NULL
         FROM refunded WHERE t.order_id = refunded.id AND t.status = 'sold'
         RETURNING t.id, t.ticket_type_id
       ), announced AS (
         ${Outbox.insertSql(
           availabilityChange(
             {
               type: 'unlocked',
               eventId: sql('refunded.event_id'),
               orderId: sql('refunded.id'),
               quantity: sql('count(*)'),
               reason: 'refunded',
             },
             'refunded JOIN freed ON true GROUP BY refunded.id, refunded.event_id',
           ),
           paymentNotification('refunded', 'refunded o'),
         )}
       )
       SELECT refunded.id AS "orderId", refunded.event_id AS "eventId",
              freed.id AS "ticketId", freed.ticket_type_id AS "ticketTypeId"
       FROM refunded LEFT JOIN freed ON true`,
      [orderId],
    );
    return groupTickets(rows);
  }

  /**
   * The event was just set `cancelled` (in this transaction): its pending holds end
   * `cancelled`, its confirmed orders owe a refund (OwedRefundJob refunds them through the
   * provider), its open waitlist entries close (`expired`), and each affected order's buyer
   * is notified. The orders are locked first, so a payment confirming one at this moment
   * either commits before (and the order is refunded here) or finds it no longer pending.
   */
  async cancelEventOrders(manager: Queryable, eventId: string): Promise<void> {
    const orders: { id: string; status: Order['status'] }[] = await manager.query(
      `SELECT id, status FROM orders
       WHERE event_id = $1 AND status IN ('pending', 'confirmed') ORDER BY id
       FOR NO KEY UPDATE`,
      [eventId],
    );
    // Read after the orders' locks were granted: sees an offer a release committed meanwhile.
    const offers: { orderId: string }[] = await manager.query(
      `WITH closed AS (
         UPDATE waitlist_entries w SET status = 'expired', updated_at = now()
         WHERE event_id = $1 AND status IN ('waiting', 'offered')
         RETURNING w.order_id
       )
       SELECT order_id AS "orderId" FROM closed WHERE order_id IS NOT NULL`,
      [eventId],
    );
    const pending = [
      ...new Set([
        ...orders.filter((order) => order.status === 'pending').map((order) => order.id),
        ...offers.map((offer) => offer.orderId),
      ]),
    ];
    const confirmed = orders.filter((order) => order.status === 'confirmed').map((o) => o.id);
    const ended = (await this.releasePending(manager, pending, 'cancelled')).map((o) => o.orderId);
    await manager.query(
      `WITH owed AS (
         UPDATE orders SET refund_due_at = now(), updated_at = now()
         WHERE id = ANY($1::uuid[]) AND status = 'confirmed' AND refund_due_at IS NULL
       ), announced AS (
         ${Outbox.insertSql(paymentNotification('event_cancelled', 'orders o WHERE o.id = ANY($2::uuid[])'))}
       )
       SELECT 1`,
      [confirmed, [...ended, ...confirmed]],
    );
  }
}

function groupTickets(rows: TicketRow[]): ReleasedOrder[] {
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
