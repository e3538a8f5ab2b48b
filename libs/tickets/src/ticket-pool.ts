/** The free tickets of one ticket type, as the lock stores key them. */
export interface TicketPool {
  eventId: string;
  ticketTypeId: string;
}

/** One string per pool, for maps keyed by pool. */
export function poolKey({ eventId, ticketTypeId }: TicketPool): string {
  return `${eventId}:${ticketTypeId}`;
}

/** Tickets grouped by the pool they belong to, for the lock store's per-pool operations. */
export function groupByPool(
  tickets: { id: string; eventId: string; ticketTypeId: string }[],
): { pool: TicketPool; ticketIds: string[] }[] {
  const pools = new Map<string, { pool: TicketPool; ticketIds: string[] }>();
  for (const { id, eventId, ticketTypeId } of tickets) {
    const pool = { eventId, ticketTypeId };
    const key = poolKey(pool);
    const entry = pools.get(key) ?? { pool, ticketIds: [] };
    entry.ticketIds.push(id);
    pools.set(key, entry);
  }
  return [...pools.values()];
}
