/**
 * What the outbox carries: one row per change, written in the transaction that makes the
 * change, published by the relay to the Redis Stream named by its topic. These types are
 * the one description of the message shapes; writers and consumers both use them.
 *
 * Topic `ticket_availability`: tickets of an event changed state. The row says what
 * happened; the relay adds the event's current counts per ticket type when it publishes
 * (read after the change committed, so the last message of an event equals the database).
 *
 * Topic `payment_notifications`: what became of an order's payment, for the buyer's email
 * and for other services.
 */
export type OutboxMessage =
  | { topic: 'ticket_availability'; payload: AvailabilityChange }
  | { topic: 'payment_notifications'; payload: PaymentNotification };

export type OutboxTopic = OutboxMessage['topic'];

export interface AvailabilityChange {
  /**
   * locked: a hold took tickets; unlocked: a hold or a sale gave them back (see `reason`);
   * sold: a payment turned held tickets into sold ones; inventory: a ticket type was added,
   * grown or shrunk, or the event's status changed.
   */
  type: 'locked' | 'unlocked' | 'sold' | 'inventory';
  eventId: string;
  orderId?: string;
  /** How many tickets moved (absent for `inventory`). */
  quantity?: number;
  /** Why tickets were unlocked: the order's new status. */
  reason?: 'expired' | 'cancelled' | 'failed' | 'refunded';
}

export interface PaymentNotification {
  /**
   * succeeded / failed / expired / refunded: the order reached that state.
   * event_cancelled: the order's event was cancelled (its hold ended or its refund is due).
   * waitlist_offer: the order is a waitlist offer's hold, waiting for payment until its
   * expiry. Links are never carried: a consumer that needs one signs it from the order id.
   */
  type: 'succeeded' | 'failed' | 'expired' | 'refunded' | 'event_cancelled' | 'waitlist_offer';
  orderId: string;
  userId: string;
  eventId: string;
  /** Minor units of `currency`. */
  amount: number;
  currency: string;
}

/** The counts of one ticket type as the relay read them when it published. */
export interface TicketTypeCounts {
  id: string;
  available: number;
  locked: number;
  sold: number;
}

/** A message as it stands on its stream (field `message`, JSON): the row's payload and its id. */
export type PublishedMessage<T extends OutboxMessage = OutboxMessage> = T['payload'] & {
  /** The outbox row's id: consumers apply each id once (a relay may publish it again). */
  outboxId: string;
  /** When the change committed (ISO 8601). */
  at: string;
} & (T['topic'] extends 'ticket_availability' ? { ticketTypes: TicketTypeCounts[] } : unknown);
