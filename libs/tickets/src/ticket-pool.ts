/** The free tickets of one ticket type, as the lock stores key them. */
export interface TicketPool {
  eventId: string;
  ticketTypeId: string;
}
