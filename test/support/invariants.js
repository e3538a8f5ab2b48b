// The booking invariants, read from PostgreSQL (and the lock store): the one copy that the
// e2e suites (expectInventoryConsistent), the chaos and soak suites and the bench check. The
// bench runs under plain `node`, so this is CommonJS; invariants.d.ts types it for the suites.
// Each function returns one line per violation (none expected), so a caller can count them
// before it fails.
//
// findViolations(db, { eventIds, ... }) always checks, for the events:
//  1. inventory: per ticket type, available + locked + sold ticket rows = its quantity, and
//     the per-type counters equal the rows, status by status;
//  2. holders: a locked ticket is held by a pending order and a sold one by a confirmed order,
//     and is one of that order's items; a ticket in a live (pending or confirmed) order's items
//     is in no other live order and is held by that one; a pending order holds exactly its
//     quantity of tickets;
// and, when given:
//  3. `created`: every order answered 201 has as items exactly the tickets the answer listed;
//  4. `expiredHoldGraceSeconds`: no order is still pending that long past its expiry (the
//     expiry job has run);
//  5. `paidOrderIds`: every order the payment provider took money for is confirmed or refunded.
// lockStoreMismatches(redis, db, eventId) checks:
//  6. the lock store's set of free ids of every loaded ticket type holds as many ids as
//     PostgreSQL has available tickets of that type.

/** The rows of a query on a pg Pool or Client (`{ rows }`) or a TypeORM DataSource (rows). */
async function rowsOf(db, text, values) {
  const result = await db.query(text, values);
  return Array.isArray(result) ? result : result.rows;
}

async function findViolations(
  db,
  { eventIds, created = [], paidOrderIds = [], expiredHoldGraceSeconds },
) {
  const violations = [];
  const types = await rowsOf(
    db,
    `SELECT tt.id, tt.quantity,
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
  for (const type of types) {
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

  const badHolders = await rowsOf(
    db,
    `SELECT t.id, t.status, o.status AS order_status
     FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
     LEFT JOIN orders o ON o.id = t.order_id
     WHERE tt.event_id = ANY($1::uuid[]) AND t.status <> 'available'
       AND NOT ((t.status = 'locked' AND o.status = 'pending')
             OR (t.status = 'sold' AND o.status = 'confirmed'))`,
    [eventIds],
  );
  for (const row of badHolders) {
    violations.push(`ticket ${row.id} is ${row.status} for an order that is ${row.order_status}`);
  }
  const unlisted = await rowsOf(
    db,
    `SELECT t.id FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
     WHERE tt.event_id = ANY($1::uuid[]) AND t.status <> 'available'
       AND NOT EXISTS (SELECT 1 FROM order_items oi WHERE oi.order_id = t.order_id AND oi.ticket_id = t.id)`,
    [eventIds],
  );
  for (const row of unlisted) violations.push(`ticket ${row.id} held outside its order`);
  const live = await rowsOf(
    db,
    `SELECT oi.ticket_id, count(*) AS orders,
            count(*) FILTER (WHERE t.order_id = o.id) AS holders
     FROM order_items oi JOIN orders o ON o.id = oi.order_id JOIN tickets t ON t.id = oi.ticket_id
     WHERE o.event_id = ANY($1::uuid[]) AND o.status IN ('pending', 'confirmed')
     GROUP BY oi.ticket_id HAVING count(*) > 1 OR count(*) FILTER (WHERE t.order_id = o.id) <> 1`,
    [eventIds],
  );
  for (const row of live) {
    violations.push(
      `ticket ${row.ticket_id} is in ${row.orders} live order(s), held by ${row.holders}`,
    );
  }
  // One pass over the events' held tickets, not a count per order: planned with statistics
  // from before a big sale, a count per order may scan a million tickets each time.
  const unevenHolds = await rowsOf(
    db,
    `SELECT o.id, o.quantity, coalesce(h.held, 0) AS held
     FROM orders o
     LEFT JOIN (SELECT t.order_id, count(*) AS held
                FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
                WHERE tt.event_id = ANY($1::uuid[]) AND t.status = 'locked'
                GROUP BY t.order_id) h ON h.order_id = o.id
     WHERE o.event_id = ANY($1::uuid[]) AND o.status = 'pending'
       AND o.quantity <> coalesce(h.held, 0)`,
    [eventIds],
  );
  for (const row of unevenHolds) {
    violations.push(`pending order ${row.id} of ${row.quantity} ticket(s) holds ${row.held}`);
  }

  if (created.length > 0) {
    const items = await rowsOf(
      db,
      `SELECT o.id AS order_id,
              coalesce(array_agg(oi.ticket_id::text ORDER BY oi.ticket_id::text)
                       FILTER (WHERE oi.ticket_id IS NOT NULL), '{}') AS ids
       FROM orders o LEFT JOIN order_items oi ON oi.order_id = o.id
       WHERE o.id = ANY($1::uuid[]) GROUP BY o.id`,
      [created.map((booking) => booking.orderId)],
    );
    // (A ticket may be in two 201 answers when the first hold ended before the second:
    // the live-orders check above is what forbids two holders at once.)
    const byOrder = new Map(items.map((row) => [row.order_id, row.ids]));
    for (const booking of created) {
      const held = byOrder.get(booking.orderId);
      const listed = [...booking.ticketIds].sort();
      if (!held) violations.push(`201 for order ${booking.orderId}, which does not exist`);
      else if (JSON.stringify(held) !== JSON.stringify(listed)) {
        violations.push(`201 for order ${booking.orderId} listed other tickets than it holds`);
      }
    }
  }

  if (expiredHoldGraceSeconds !== undefined) {
    const overdue = await rowsOf(
      db,
      `SELECT id FROM orders WHERE event_id = ANY($1::uuid[]) AND status = 'pending'
         AND expires_at < now() - make_interval(secs => $2)`,
      [eventIds, expiredHoldGraceSeconds],
    );
    for (const row of overdue) violations.push(`order ${row.id} is pending past its expiry`);
  }

  if (paidOrderIds.length > 0) {
    const lost = await rowsOf(
      db,
      `SELECT id, status FROM orders WHERE id = ANY($1::uuid[])
         AND status NOT IN ('confirmed', 'refunded')`,
      [paidOrderIds],
    );
    for (const row of lost) violations.push(`paid order ${row.id} ended ${row.status}`);
  }
  return violations;
}

/**
 * The lock store against PostgreSQL, now: per ticket type of the event, as many free ids in
 * Redis as available tickets. A type not loaded yet is fine: it loads on its next booking.
 */
async function lockStoreMismatches(redis, db, eventId) {
  const types = await rowsOf(
    db,
    `SELECT tt.id, count(t.id) FILTER (WHERE t.status = 'available') AS available
     FROM ticket_types tt LEFT JOIN tickets t ON t.ticket_type_id = tt.id
     WHERE tt.event_id = $1 GROUP BY tt.id`,
    [eventId],
  );
  const mismatches = [];
  for (const type of types) {
    const prefix = `tickets:{${eventId}}:${type.id}`;
    if (!(await redis.exists(`${prefix}:ready`))) continue;
    const free = await redis.scard(`${prefix}:free`);
    if (free !== Number(type.available)) {
      mismatches.push(
        `lock store has ${free} free of type ${type.id}, PostgreSQL ${type.available}`,
      );
    }
  }
  return mismatches;
}

module.exports = { findViolations, lockStoreMismatches };
