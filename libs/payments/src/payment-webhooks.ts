import { Injectable, Logger } from '@nestjs/common';
import Stripe from 'stripe';
import { DataSource, type EntityManager } from 'typeorm';
import { HoldRelease, type ReleasedOrder } from '@app/orders';
import { groupByPool, TicketLockService } from '@app/tickets';
import { OrderRefunds } from './order-refunds';
import { paymentFactOf, type PaymentFact } from './payment-events';
import { notifyPayment } from './payment-notifications';
import { InvalidWebhookSignatureError } from './payments.errors';
import { WebhookSecret } from './webhook-secret';

/** Stripe's own default: a signature older than this is refused (replayed requests). */
const SIGNATURE_TOLERANCE_SECONDS = 300;

/** What the lock store must learn once the transaction has committed. */
interface TicketChanges {
  /** Tickets that became available again. */
  freed: ReleasedOrder[];
  /** Available tickets a late payment took back. */
  retaken: ReleasedOrder[];
}
const NO_CHANGE: TicketChanges = { freed: [], retaken: [] };

/**
 * Applies the provider's events to orders. Each event is recorded in the transaction that
 * applies it, so a repeat has no second effect; each transition is a conditional update on
 * the order's current state, so events converge whatever order they arrive in. A payment
 * for an order whose hold already ended takes its tickets back if they are still free, else
 * the payment is marked for refund (OwedRefundJob refunds it: the provider is never called
 * from here, so the answer to the webhook never waits on it).
 */
@Injectable()
export class PaymentWebhooks {
  private readonly logger = new Logger(PaymentWebhooks.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly secret: WebhookSecret,
    private readonly holds: HoldRelease,
    private readonly refunds: OrderRefunds,
    private readonly lock: TicketLockService,
  ) {}

  /** Verifies the signature over the raw body, then applies the event once. */
  async handle(rawBody: Buffer | undefined, signature: string | undefined): Promise<void> {
    const event = this.verify(rawBody, signature);
    const fact = paymentFactOf(event);
    if (!fact) return;
    const changes = await this.dataSource.transaction(async (manager) => {
      const orderId = await this.orderOf(manager, fact);
      // Not ours (another integration on the same Stripe account), or already applied.
      if (!orderId || !(await this.record(manager, event, orderId))) return NO_CHANGE;
      if (fact.closedSessionId) await this.closeSession(manager, orderId, fact.closedSessionId);
      return this.apply(manager, fact, orderId);
    });
    await this.holds.returnToLockStore(changes.freed);
    await this.removeFromLockStore(changes.retaken);
  }

  private verify(rawBody: Buffer | undefined, signature: string | undefined): Stripe.Event {
    if (!rawBody || !signature) throw new InvalidWebhookSignatureError();
    try {
      return Stripe.webhooks.constructEvent(
        rawBody,
        signature,
        this.secret.value,
        SIGNATURE_TOLERANCE_SECONDS,
      );
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError)
        throw new InvalidWebhookSignatureError();
      throw error;
    }
  }

  private async apply(
    manager: EntityManager,
    fact: PaymentFact,
    orderId: string,
  ): Promise<TicketChanges> {
    switch (fact.kind) {
      case 'paid':
        return this.confirm(manager, orderId, fact.paymentIntentId);
      case 'awaiting_payment':
        // Kept so that the payment intent's own failure event finds the order.
        await manager.query(
          `UPDATE orders SET payment_intent_id = $2 WHERE id = $1 AND payment_intent_id IS NULL`,
          [orderId, fact.paymentIntentId],
        );
        return NO_CHANGE;
      case 'failed': {
        const freed = await this.holds.releaseInTransaction(manager, [orderId], 'failed');
        if (freed.length > 0) await notifyPayment(manager, orderId, 'failed');
        return { freed, retaken: [] };
      }
      case 'expired':
        return {
          freed: await this.holds.releaseInTransaction(manager, [orderId], 'expired'),
          retaken: [],
        };
      case 'refunded':
        return { freed: await this.refunds.markRefunded(manager, orderId), retaken: [] };
    }
  }

  /** Paid: a held order is confirmed; one whose hold ended is confirmed or refunded. */
  private async confirm(
    manager: EntityManager,
    orderId: string,
    paymentIntentId: string,
  ): Promise<TicketChanges> {
    const confirmed: unknown[] = await manager.query(
      `WITH confirmed AS (
         UPDATE orders SET status = 'confirmed', payment_intent_id = $2, updated_at = now()
         WHERE id = $1 AND status = 'pending'
         RETURNING id
       ), sold AS (
         UPDATE tickets t SET status = 'sold', held_until = NULL
         FROM confirmed WHERE t.order_id = confirmed.id AND t.status = 'locked'
         RETURNING t.id
       )
       SELECT id FROM confirmed`,
      [orderId, paymentIntentId],
    );
    if (confirmed.length > 0) {
      await announceConfirmed(manager, orderId);
      return NO_CHANGE;
    }
    return this.confirmLate(manager, orderId, paymentIntentId);
  }

  /**
   * The hold ended (expired, cancelled, failed) before the payment arrived: the same tickets
   * are taken back if every one of them is still available, else the payment is refunded.
   */
  private async confirmLate(
    manager: EntityManager,
    orderId: string,
    paymentIntentId: string,
  ): Promise<TicketChanges> {
    const [order]: { eventId: string; quantity: number; ended: boolean }[] = await manager.query(
      `SELECT event_id AS "eventId", quantity,
              status IN ('expired', 'cancelled', 'failed') AND refund_due_at IS NULL AS ended
       FROM orders WHERE id = $1 FOR UPDATE`,
      [orderId],
    );
    // Confirmed or refunded already, or a refund is already owed: nothing more to do.
    if (!order.ended) return NO_CHANGE;

    // Locked here, so no booking can take them until this commits.
    const free: { id: string; ticketTypeId: string }[] = await manager.query(
      `SELECT t.id, t.ticket_type_id AS "ticketTypeId"
       FROM order_items oi JOIN tickets t ON t.id = oi.ticket_id
       WHERE oi.order_id = $1 AND t.status = 'available'
       FOR UPDATE OF t`,
      [orderId],
    );
    if (free.length < order.quantity) {
      await manager.query(
        `UPDATE orders SET payment_intent_id = $2, refund_due_at = now(), updated_at = now()
         WHERE id = $1 AND refund_due_at IS NULL`,
        [orderId, paymentIntentId],
      );
      this.logger.warn(`Order ${orderId} was paid after its tickets were sold on: refunding`);
      return NO_CHANGE;
    }
    await manager.query(
      `WITH retaken AS (
         UPDATE orders SET status = 'confirmed', payment_intent_id = $2, updated_at = now()
         WHERE id = $1 AND status IN ('expired', 'cancelled', 'failed')
         RETURNING id
       )
       UPDATE tickets t SET status = 'sold', order_id = retaken.id
       FROM retaken WHERE t.id = ANY($3::uuid[])`,
      [orderId, paymentIntentId, free.map((ticket) => ticket.id)],
    );
    await announceConfirmed(manager, orderId);
    this.logger.log(`Order ${orderId} was paid after its hold ended: its tickets were still free`);
    return { freed: [], retaken: [{ orderId, eventId: order.eventId, tickets: free }] };
  }

  /** The order the event is about, if it is one of ours. */
  private async orderOf(manager: EntityManager, fact: PaymentFact): Promise<string | undefined> {
    const [order]: { id: string }[] = await manager.query(
      `SELECT id FROM orders WHERE id = $1 OR payment_intent_id = $2 LIMIT 1`,
      [fact.orderId, fact.paymentIntentId],
    );
    return order?.id;
  }

  /** False when the event was applied before. */
  private async record(
    manager: EntityManager,
    event: Stripe.Event,
    orderId: string,
  ): Promise<boolean> {
    const recorded: unknown[] = await manager.query(
      `INSERT INTO processed_payment_events (id, type, order_id) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [event.id, event.type, orderId],
    );
    return recorded.length > 0;
  }

  /** The provider closed the session (completed or expired): nothing left to expire there. */
  private async closeSession(
    manager: EntityManager,
    orderId: string,
    sessionId: string,
  ): Promise<void> {
    await manager.query(
      `UPDATE orders SET checkout_session_closed_at = now()
       WHERE id = $1 AND checkout_session_id = $2 AND checkout_session_closed_at IS NULL`,
      [orderId, sessionId],
    );
  }

  private async removeFromLockStore(orders: ReleasedOrder[]): Promise<void> {
    const tickets = orders.flatMap((order) =>
      order.tickets.map((ticket) => ({ ...ticket, eventId: order.eventId })),
    );
    for (const { pool, ticketIds } of groupByPool(tickets)) await this.lock.remove(pool, ticketIds);
  }
}

/** Outbox rows of a confirmed order: the buyer's receipt and the sold tickets. */
async function announceConfirmed(manager: EntityManager, orderId: string): Promise<void> {
  await notifyPayment(manager, orderId, 'succeeded');
  await manager.query(
    `INSERT INTO outbox (topic, payload)
     SELECT 'ticket_availability',
            jsonb_build_object('type', 'sold', 'eventId', event_id, 'orderId', id, 'quantity', quantity)
     FROM orders WHERE id = $1`,
    [orderId],
  );
}
