import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AvailabilityCounts, TicketTypeCounts } from '@app/outbox';

/** An event's current counts per ticket type, and the database time they were read at. */
export interface EventAvailabilitySnapshot {
  eventId: string;
  ticketTypes: TicketTypeCounts[];
  at: string;
}

/**
 * Reads events' counts from the counter shards (never from ticket rows), for the outbox relay
 * (as its AvailabilityCounts) and the live availability socket. `at` is PostgreSQL's clock when the counts were read, so
 * of two snapshots the later one is the newer whichever instance read it.
 */
@Injectable()
export class EventAvailability implements AvailabilityCounts {
  constructor(private readonly dataSource: DataSource) {}

  async ofEvents(
    eventIds: string[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<string, EventAvailabilitySnapshot>> {
    const snapshots = new Map<string, EventAvailabilitySnapshot>();
    if (eventIds.length === 0) return snapshots;
    const rows: {
      eventId: string;
      id: string;
      available: number;
      locked: number;
      sold: number;
      at: Date;
    }[] = await manager.query(
      `SELECT tt.event_id AS "eventId", tt.id,
              coalesce(sum(c.available), 0)::int AS available,
              coalesce(sum(c.locked), 0)::int AS locked,
              coalesce(sum(c.sold), 0)::int AS sold,
              (SELECT clock_timestamp()) AS at
       FROM ticket_types tt LEFT JOIN ticket_type_counters c ON c.ticket_type_id = tt.id
       WHERE tt.event_id = ANY($1::uuid[])
       GROUP BY tt.event_id, tt.id, tt.position
       ORDER BY tt.event_id, tt.position`,
      [[...new Set(eventIds)]],
    );
    for (const { eventId, at, ...counts } of rows) {
      const snapshot = snapshots.get(eventId) ?? {
        eventId,
        ticketTypes: [],
        at: new Date(at).toISOString(),
      };
      snapshot.ticketTypes.push(counts);
      snapshots.set(eventId, snapshot);
    }
    return snapshots;
  }

  /** One event's snapshot; undefined for an unknown event. */
  async of(eventId: string): Promise<EventAvailabilitySnapshot | undefined> {
    return (await this.ofEvents([eventId])).get(eventId);
  }
}
