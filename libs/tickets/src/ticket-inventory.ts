import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export interface TicketCounts {
  available: number;
  locked: number;
  sold: number;
}

export type TicketStatus = 'available' | 'locked' | 'sold';

export interface TicketRow {
  id: string;
  ticketTypeId: string;
  label: string;
  status: TicketStatus;
}

/**
 * The SQL expression of a ticket's label, e.g. GA-000123, from its type's prefix: at least
 * six digits (lpad alone would cut serial 1,000,000 down to a second "100000").
 */
export const TICKET_LABEL_SQL = `tt.label_prefix || '-' || lpad(t.serial::text, greatest(6, length(t.serial::text)), '0')`;

/**
 * The ticket rows themselves: issued and retired in bulk, set-based (a million-ticket type
 * is one statement), and counted through the counters the tickets triggers maintain.
 */
@Injectable()
export class TicketInventory {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Inserts tickets `fromSerial..toSerial` of a type. Ids are UUIDs in the version 7 layout
   * (creation time first, then the serial), so the primary key index is appended to in
   * order instead of being written at random places: ~30 % faster for a million rows.
   */
  async issue(
    manager: EntityManager,
    ticketTypeId: string,
    fromSerial: number,
    toSerial: number,
  ): Promise<void> {
    await allowLongStatements(manager);
    await manager.query(
      `WITH stamp AS (
         SELECT lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') AS ms,
                md5(random()::text || $1) AS rnd
       )
       INSERT INTO tickets (id, ticket_type_id, serial)
       SELECT (ms || '7' || substr(rnd, 1, 3) || '8' || substr(rnd, 4, 8) || lpad(to_hex(s), 7, '0'))::uuid, $1::uuid, s
       FROM stamp, generate_series($2::int, $3::int) AS s`,
      [ticketTypeId, fromSerial, toSerial],
    );
  }

  /**
   * Deletes up to `count` available tickets of a type, highest serials first, skipping
   * rows a booking is taking right now; returns the ids deleted.
   */
  async retire(manager: EntityManager, ticketTypeId: string, count: number): Promise<string[]> {
    await allowLongStatements(manager);
    const rows: { id: string }[] = await manager.query(
      `WITH retired AS (
         DELETE FROM tickets WHERE id IN (
           SELECT id FROM tickets
           WHERE ticket_type_id = $1 AND status = 'available'
           ORDER BY serial DESC LIMIT $2
           FOR UPDATE SKIP LOCKED)
         RETURNING id
       )
       SELECT id FROM retired`,
      [ticketTypeId, count],
    );
    return rows.map((row) => row.id);
  }

  async availableIds(ticketTypeId: string): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM tickets WHERE ticket_type_id = $1 AND status = 'available'`,
      [ticketTypeId],
    );
    return rows.map((row) => row.id);
  }

  /** Current counts per type; they add up to the type's quantity. */
  async counts(
    ticketTypeIds: string[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<string, TicketCounts>> {
    const rows: { ticket_type_id: string; available: string; locked: string; sold: string }[] =
      await manager.query(
        `SELECT ticket_type_id, sum(available) AS available, sum(locked) AS locked, sum(sold) AS sold
         FROM ticket_type_counters WHERE ticket_type_id = ANY($1::uuid[])
         GROUP BY ticket_type_id`,
        [ticketTypeIds],
      );
    const counts = new Map<string, TicketCounts>(
      ticketTypeIds.map((id) => [id, { available: 0, locked: 0, sold: 0 }]),
    );
    for (const row of rows) {
      counts.set(row.ticket_type_id, {
        available: Number(row.available),
        locked: Number(row.locked),
        sold: Number(row.sold),
      });
    }
    return counts;
  }

  /** The tickets with these ids that belong to the event, with their type. */
  async findInEvent(
    eventId: string,
    ticketIds: string[],
  ): Promise<{ id: string; ticketTypeId: string }[]> {
    return this.dataSource.query(
      `SELECT t.id, t.ticket_type_id AS "ticketTypeId"
       FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
       WHERE t.id = ANY($1::uuid[]) AND tt.event_id = $2`,
      [ticketIds, eventId],
    );
  }

  /** One page of a type's tickets in serial order, optionally of one status. */
  async page(
    ticketTypeId: string,
    status: TicketStatus | undefined,
    offset: number,
    limit: number,
  ): Promise<TicketRow[]> {
    return this.dataSource.query(
      `SELECT t.id, t.ticket_type_id AS "ticketTypeId", ${TICKET_LABEL_SQL} AS label, t.status
       FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
       WHERE t.ticket_type_id = $1 AND ($2::text IS NULL OR t.status = $2)
       ORDER BY t.serial OFFSET $3 LIMIT $4`,
      [ticketTypeId, status ?? null, offset, limit],
    );
  }
}

/** As long as the inventory routes let their request run (LONG_REQUEST_MS in libs/http). */
const LONG_STATEMENT_MS = 120_000;

/** A million rows take seconds: lifts the pool's statement timeout for this transaction only. */
async function allowLongStatements(manager: EntityManager): Promise<void> {
  await manager.query(`SELECT set_config('statement_timeout', $1, true)`, [
    `${LONG_STATEMENT_MS}ms`,
  ]);
}
