import {
  Outbox,
  sql,
  type AvailabilityChange,
  type OutboxMessage,
  type OutboxRowsSql,
  type PayloadSql,
  type PaymentNotification,
} from '@app/outbox';

type AvailabilityMessage = Extract<OutboxMessage, { topic: 'ticket_availability' }>;
type NotificationMessage = Extract<OutboxMessage, { topic: 'payment_notifications' }>;

/** The payment_notifications row of each order in `from` (a FROM clause aliased `o`). */
export function paymentNotification(
  type: PaymentNotification['type'],
  from: string,
): OutboxRowsSql {
  return Outbox.rowsSql<NotificationMessage>(
    'payment_notifications',
    {
      type,
      orderId: sql('o.id'),
      userId: sql('o.user_id'),
      eventId: sql('o.event_id'),
      amount: sql('o.total_amount'),
      currency: sql('o.currency'),
    },
    from,
  );
}

/** A ticket_availability row per row of `from`, typed by the message contract. */
export function availabilityChange(
  payload: PayloadSql<AvailabilityChange>,
  from: string,
): OutboxRowsSql {
  return Outbox.rowsSql<AvailabilityMessage>('ticket_availability', payload, from);
}
