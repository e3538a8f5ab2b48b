import type { EntityManager } from 'typeorm';
import type { TicketTypeCounts } from './outbox-message';

/**
 * The counts the relay adds to every `ticket_availability` message, read in its publishing
 * transaction (after the change committed). The tickets module owns the counters and
 * provides this; the app binds the two where it composes its modules, so the outbox knows
 * no domain module.
 */
export abstract class AvailabilityCounts {
  /** Per event id, its ticket types' counts in display order (absent: unknown event). */
  abstract ofEvents(
    eventIds: string[],
    manager: EntityManager,
  ): Promise<Map<string, { ticketTypes: TicketTypeCounts[] }>>;
}
