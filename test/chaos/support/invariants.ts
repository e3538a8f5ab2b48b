import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { eventually } from '../../support/eventually';
import type { CreatedBooking } from './storm';

/** The expiry job runs every second; a pending order this far past its end is a violation. */
const EXPIRY_GRACE_SECONDS = 5;

/**
 * The invariants of DESIGN.md, read from PostgreSQL after a fault. Returns one line per
 * violation (none expected), so that the table can count them before the test fails.
 *  1. per type: available + locked + sold = quantity, and the counters equal the rows;
 *  2. every locked or sold ticket is held by its one pending or confirmed order, listed in
 *     that order's items; no ticket is in two live orders;
 *  3. every 201 holds exactly its tickets (its order's items are the ids it listed);
 *  4. no pending order is past its expiry (the expiry job ran);
 *  5. every order the payment provider says is paid is confirmed or refunded.
 */
export async function findViolations(
  db: Pool,
  {
    eventIds,
    created = [],
    paidOrderIds = [],
  }: { eventIds: string[]; created?: CreatedBooking[]; paidOrderIds?: string[] },
): Promise<string[]> {
  const violations: string[] = [];
  const types = await db.query<{
    id: string;
    quantity: number;
    counters: string | null;
    available: string;
    locked: string;
    sold: string;
    counted_available: string | null;
    counted_locked: string | null;
    counted_sold: string | null;
  }>(
    `SELECT tt.id, tt.quantity,
            count(t.id) AS counters,
            count(t.id) FILTER (WHERE t.status = 'available') AS available,
            count(t.id) FILTER (WHERE t.status = 'locked') AS locked,
            count(t.id) FILTER (WHERE t.status = 'sold') AS sold,
            (SELECT sum(available) FROM ticket_type_counters c WHERE c.ticket_type_id = tt.id) AS counted_available,
            (SELECT sum(locked) FROM ticket_type_counters c WHERE c.ticket_type_id = tt.id) AS counted_locked,
            (SELECT sum(sold) FROM ticket_type_counters c WHERE c.ticket_type_id = tt.id) AS counted_sold
     FROM ticket_types tt LEFT JOIN tickets t ON t.ticket_type_id = tt.id
     WHERE tt.event_id = ANY($1::uuid[]) GROUP BY tt.id`,
    [eventIds],
  );
  for (const type of types.rows) {
    const rows = { available: +type.available, locked: +type.locked, sold: +type.sold };
    const counters = {
      available: Number(type.counted_available),
      locked: Number(type.counted_locked),
      sold: Number(type.counted_sold),
    };
    if (rows.available + rows.locked + rows.sold !== type.quantity) {
      violations.push(`type ${type.id}: rows ${JSON.stringify(rows)} ≠ quantity ${type.quantity}`);
    }
    if (JSON.stringify(rows) !== JSON.stringify(counters)) {
      violations.push(
        `type ${type.id}: counters ${JSON.stringify(counters)} ≠ rows ${JSON.stringify(rows)}`,
      );
    }
  }

  const badHolders = await db.query<{ id: string; status: string; order_status: string | null }>(
    `SELECT t.id, t.status, o.status AS order_status
     FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
     LEFT JOIN orders o ON o.id = t.order_id
     WHERE tt.event_id = ANY($1::uuid[]) AND t.status <> 'available'
       AND NOT ((t.status = 'locked' AND o.status = 'pending')
             OR (t.status = 'sold' AND o.status = 'confirmed'))`,
    [eventIds],
  );
  for (const row of badHolders.rows) {
    violations.push(`ticket ${row.id} is ${row.status} for an order that is ${row.order_status}`);
  }
  const unlisted = await db.query<{ id: string }>(
    `SELECT t.id FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
     WHERE tt.event_id = ANY($1::uuid[]) AND t.order_id IS NOT NULL AND t.status <> 'available'
       AND NOT EXISTS (SELECT 1 FROM order_items oi WHERE oi.order_id = t.order_id AND oi.ticket_id = t.id)`,
    [eventIds],
  );
  for (const row of unlisted.rows) violations.push(`ticket ${row.id} held outside its order`);
  const live = await db.query<{ ticket_id: string; orders: string; holders: string }>(
    `SELECT oi.ticket_id, count(*) AS orders,
            count(*) FILTER (WHERE t.order_id = o.id) AS holders
     FROM order_items oi JOIN orders o ON o.id = oi.order_id JOIN tickets t ON t.id = oi.ticket_id
     WHERE o.event_id = ANY($1::uuid[]) AND o.status IN ('pending', 'confirmed')
     GROUP BY oi.ticket_id HAVING count(*) > 1 OR count(*) FILTER (WHERE t.order_id = o.id) <> 1`,
    [eventIds],
  );
  for (const row of live.rows) {
    violations.push(
      `ticket ${row.ticket_id} is in ${row.orders} live order(s), held by ${row.holders}`,
    );
  }

  if (created.length > 0) {
    const items = await db.query<{ order_id: string; ids: string[] }>(
      `SELECT o.id AS order_id,
              coalesce(array_agg(oi.ticket_id::text ORDER BY oi.ticket_id::text)
                       FILTER (WHERE oi.ticket_id IS NOT NULL), '{}') AS ids
       FROM orders o LEFT JOIN order_items oi ON oi.order_id = o.id
       WHERE o.id = ANY($1::uuid[]) GROUP BY o.id`,
      [created.map((booking) => booking.orderId)],
    );
    // (A ticket may be in two 201 answers when the first hold ended before the second:
    // the live-orders check above is what forbids two holders at once.)
    const byOrder = new Map(items.rows.map((row) => [row.order_id, row.ids]));
    for (const booking of created) {
      const held = byOrder.get(booking.orderId);
      const listed = [...booking.ticketIds].sort();
      if (!held) violations.push(`201 for order ${booking.orderId}, which does not exist`);
      else if (JSON.stringify(held) !== JSON.stringify(listed)) {
        violations.push(`201 for order ${booking.orderId} listed other tickets than it holds`);
      }
    }
  }

  const overdue = await db.query<{ id: string }>(
    `SELECT id FROM orders WHERE event_id = ANY($1::uuid[]) AND status = 'pending'
       AND expires_at < now() - make_interval(secs => $2)`,
    [eventIds, EXPIRY_GRACE_SECONDS],
  );
  for (const row of overdue.rows) violations.push(`order ${row.id} is pending past its expiry`);

  if (paidOrderIds.length > 0) {
    const lost = await db.query<{ id: string; status: string }>(
      `SELECT id, status FROM orders WHERE id = ANY($1::uuid[])
         AND status NOT IN ('confirmed', 'refunded')`,
      [paidOrderIds],
    );
    for (const row of lost.rows) violations.push(`paid order ${row.id} ended ${row.status}`);
  }
  return violations;
}

/**
 * Invariant 5: the lock store agrees with PostgreSQL on how many tickets of each type are
 * free (rebuilt after a flush or restart, or put right by the reconcile job), within
 * `timeoutMs`. A pool not loaded yet is fine: it loads from PostgreSQL on the next booking.
 */
export async function lockStoreViolations(
  redis: Redis,
  db: Pool,
  eventId: string,
  timeoutMs: number,
): Promise<string[]> {
  const mismatches = async (): Promise<string[]> => {
    const { rows } = await db.query<{ id: string; available: string }>(
      `SELECT tt.id, count(t.id) FILTER (WHERE t.status = 'available') AS available
       FROM ticket_types tt LEFT JOIN tickets t ON t.ticket_type_id = tt.id
       WHERE tt.event_id = $1 GROUP BY tt.id`,
      [eventId],
    );
    const found: string[] = [];
    for (const row of rows) {
      const prefix = `tickets:{${eventId}}:${row.id}`;
      if (!(await redis.exists(`${prefix}:ready`))) continue;
      const free = await redis.scard(`${prefix}:free`);
      if (free !== Number(row.available)) {
        found.push(`lock store has ${free} free of type ${row.id}, PostgreSQL ${row.available}`);
      }
    }
    return found;
  };
  try {
    await eventually(async () => (await mismatches()).length === 0, {
      timeoutMs,
      intervalMs: 500,
      what: 'the lock store to agree with PostgreSQL',
    });
    return [];
  } catch {
    return mismatches();
  }
}

/** Waits (bounded) until no order of the events is pending: every hold ended. */
export async function waitForHoldsToEnd(
  db: Pool,
  eventIds: string[],
  timeoutMs: number,
): Promise<string[]> {
  const pending = async () =>
    (
      await db.query<{ id: string }>(
        `SELECT id FROM orders WHERE event_id = ANY($1::uuid[]) AND status = 'pending'`,
        [eventIds],
      )
    ).rows;
  try {
    await eventually(async () => (await pending()).length === 0, {
      timeoutMs,
      intervalMs: 250,
      what: 'every hold to end',
    });
    return [];
  } catch {
    return (await pending()).map((row) => `order ${row.id} still pending: its hold never ended`);
  }
}
