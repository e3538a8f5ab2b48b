import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EventStatus } from './event.entity';

export interface BookableEvent {
  id: string;
  status: EventStatus;
  startsAt: Date;
  currency: string;
  maxTicketsPerOrder: number;
  ticketTypeIds: Set<string>;
}

const TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;

/**
 * What the booking path needs to know about an event, cached for a moment so an on-sale's
 * requests do not each read the event from PostgreSQL. Concurrent misses share one query.
 * Staleness is harmless: the booking transaction re-checks the event's state itself.
 */
@Injectable()
export class EventCatalog {
  private readonly cache = new Map<string, { value: Promise<BookableEvent | null>; at: number }>();

  constructor(private readonly dataSource: DataSource) {}

  get(eventId: string): Promise<BookableEvent | null> {
    const cached = this.cache.get(eventId);
    if (cached && Date.now() - cached.at < TTL_MS) return cached.value;
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    const value = this.load(eventId);
    this.cache.set(eventId, { value, at: Date.now() });
    value.then(
      (event) => event === null && this.cache.delete(eventId),
      () => this.cache.delete(eventId),
    );
    return value;
  }

  forget(eventId: string): void {
    this.cache.delete(eventId);
  }

  private async load(eventId: string): Promise<BookableEvent | null> {
    const rows: {
      id: string;
      status: EventStatus;
      startsAt: Date;
      currency: string;
      maxTicketsPerOrder: number;
      ticketTypeIds: string[];
    }[] = await this.dataSource.query(
      `SELECT e.id, e.status, e.starts_at AS "startsAt", e.currency,
              e.max_tickets_per_order AS "maxTicketsPerOrder",
              array_remove(array_agg(tt.id), NULL) AS "ticketTypeIds"
       FROM events e LEFT JOIN ticket_types tt ON tt.event_id = e.id
       WHERE e.id = $1 GROUP BY e.id`,
      [eventId],
    );
    const row = rows[0];
    return row ? { ...row, ticketTypeIds: new Set(row.ticketTypeIds) } : null;
  }
}
