import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { HoldRelease, type ReleasedOrder } from '@app/orders';
import { PaymentGateway } from './payment-gateway';
import { notifyPayment } from './payment-notifications';

/**
 * Refunds: a paid order's money goes back through the provider, then the order becomes
 * `refunded` and its tickets are sold again — once, whether the buyer's cancel, the refund
 * job or Stripe's `charge.refunded` event gets there first.
 */
@Injectable()
export class OrderRefunds {
  constructor(
    private readonly dataSource: DataSource,
    private readonly gateway: PaymentGateway,
    private readonly holds: HoldRelease,
  ) {}

  /** Throws PaymentProviderUnavailableError / PaymentProviderFailedError, changing nothing. */
  async refund(orderId: string, paymentIntentId: string): Promise<void> {
    // One key per order: however often this runs, the provider refunds the order once.
    await this.gateway.refund({ orderId, paymentIntentId, idempotencyKey: `refund-${orderId}` });
    const released = await this.dataSource.transaction((manager) =>
      this.markRefunded(manager, orderId),
    );
    await this.holds.returnToLockStore(released);
  }

  /**
   * A confirmed order, or one owing a refund, becomes `refunded`; a confirmed order's tickets
   * become available (call HoldRelease.returnToLockStore after the commit).
   */
  async markRefunded(manager: EntityManager, orderId: string): Promise<ReleasedOrder[]> {
    const rows: {
      orderId: string;
      eventId: string;
      ticketId: string | null;
      ticketTypeId: string | null;
    }[] = await manager.query(
      `WITH refunded AS (
         UPDATE orders SET status = 'refunded', refund_due_at = NULL, updated_at = now()
         WHERE id = $1 AND (status = 'confirmed' OR refund_due_at IS NOT NULL)
         RETURNING id, event_id
       ), freed AS (
         UPDATE tickets t SET status = 'available', order_id = NULL
         FROM refunded WHERE t.order_id = refunded.id AND t.status = 'sold'
         RETURNING t.id, t.ticket_type_id
       ), announced AS (
         INSERT INTO outbox (topic, payload)
         SELECT 'ticket_availability',
                jsonb_build_object('type', 'unlocked', 'eventId', refunded.event_id, 'orderId', refunded.id,
                                   'quantity', count(*), 'outcome', 'refunded')
         FROM refunded JOIN freed ON true
         GROUP BY refunded.id, refunded.event_id
       )
       SELECT refunded.id AS "orderId", refunded.event_id AS "eventId",
              freed.id AS "ticketId", freed.ticket_type_id AS "ticketTypeId"
       FROM refunded LEFT JOIN freed ON true`,
      [orderId],
    );
    if (rows.length === 0) return [];
    await notifyPayment(manager, orderId, 'refunded');
    const tickets = rows.flatMap(({ ticketId, ticketTypeId }) =>
      ticketId && ticketTypeId ? [{ id: ticketId, ticketTypeId }] : [],
    );
    return [{ orderId, eventId: rows[0].eventId, tickets }];
  }
}
