import type { EntityManager } from 'typeorm';

/** A ticket and its type (its pool, with the event it belongs to). */
export interface FreedTicket {
  id: string;
  ticketTypeId: string;
}

/**
 * Who gets tickets before the public when they come free (a release, a refund) or are
 * issued (a grown ticket type): the waitlist. Called in the transaction that freed or issued
 * them, so no booking can take them first; it holds some of them for someone and returns
 * their ids, which the lock store must then never get. The waitlist module provides it; the
 * app binds it where it composes its modules.
 */
export abstract class FreedTicketOffers {
  abstract offer(manager: EntityManager, tickets: FreedTicket[]): Promise<Set<string>>;
}
