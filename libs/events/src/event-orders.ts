import type { EntityManager } from 'typeorm';

/**
 * What cancelling an event does to its orders and waitlist. The orders module provides it
 * (it imports this one, so it cannot be called directly); the app binds it where it composes
 * its modules.
 */
export abstract class EventOrders {
  /**
   * The event was set `cancelled` in this transaction (`manager`): end its holds, owe its
   * refunds, close its waitlist.
   */
  abstract cancelEventOrders(manager: Pick<EntityManager, 'query'>, eventId: string): Promise<void>;
}
