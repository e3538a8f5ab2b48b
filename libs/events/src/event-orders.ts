import type { EntityManager } from 'typeorm';

/**
 * What an event's changes do to its orders and waitlist, provided by the orders module
 * (which imports this one, so it cannot be called directly). Both run in the caller's
 * transaction.
 */
export abstract class EventOrders {
  /** The event was set `cancelled` in this transaction: end its holds, owe its refunds. */
  abstract cancelEventOrders(manager: Pick<EntityManager, 'query'>, eventId: string): Promise<void>;

  /** Newly issued tickets go to the waitlist first; returns the ids it took. */
  abstract offerIssued(
    manager: Pick<EntityManager, 'query'>,
    tickets: { id: string; ticketTypeId: string }[],
  ): Promise<string[]>;
}
