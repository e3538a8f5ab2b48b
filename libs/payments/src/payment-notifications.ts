import type { EntityManager } from 'typeorm';

export type PaymentNotification = 'succeeded' | 'failed' | 'refunded';

/** The outbox row that tells the buyer (email) and other consumers what became of a payment. */
export async function notifyPayment(
  manager: EntityManager,
  orderId: string,
  type: PaymentNotification,
): Promise<void> {
  await manager.query(
    `INSERT INTO outbox (topic, payload)
     SELECT 'payment_notifications',
            jsonb_build_object('type', $2::text, 'orderId', id, 'userId', user_id, 'eventId', event_id,
                               'amount', total_amount, 'currency', currency)
     FROM orders WHERE id = $1`,
    [orderId, type],
  );
}
