import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import * as argon2 from 'argon2';
import type { DataSource } from 'typeorm';
import type { TestApp, TestUser } from './test-app';

let passwordHash: Promise<string> | undefined;

/**
 * Many buyers at once, as the benchmark does: rows inserted directly (hashing passwords one
 * by one would dominate the test) and access tokens signed with the app's own secret.
 */
export async function createBuyers(testApp: TestApp, count: number): Promise<TestUser[]> {
  passwordHash ??= argon2.hash('correct horse battery');
  const hash = await passwordHash;
  const batch = randomUUID().slice(0, 8);
  const rows: { id: string; email: string }[] = await testApp.dataSource.query(
    `INSERT INTO users (email, name, password_hash)
     SELECT 'buyer' || n || '-' || $2 || '@example.com', 'Buyer ' || n, $1
     FROM generate_series(1, $3::int) AS n RETURNING id, email`,
    [hash, batch, count],
  );
  const jwt = testApp.app.get(JwtService);
  return Promise.all(
    rows.map(async (row) => ({
      ...row,
      token: await jwt.signAsync(
        { sub: row.id, role: 'customer' },
        { secret: testApp.environment.JWT_SECRET!, algorithm: 'HS256', expiresIn: 3600 },
      ),
    })),
  );
}

export interface TestEvent {
  id: string;
  ticketTypes: { id: string; name: string; price: number; quantity: number }[];
}

export async function createEvent(
  testApp: TestApp,
  admin: TestUser,
  overrides: Record<string, unknown> = {},
): Promise<TestEvent> {
  const response = await testApp
    .http()
    .post('/api/v1/events')
    .set('Authorization', `Bearer ${admin.token}`)
    .send({
      name: `Concert ${randomUUID().slice(0, 6)}`,
      venue: 'Arena',
      startsAt: new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString(),
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 100 }],
      ...overrides,
    });
  if (response.status !== 201)
    throw new Error(`createEvent: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as TestEvent;
}

export function book(
  testApp: TestApp,
  buyer: TestUser,
  eventId: string,
  body: object,
  idempotencyKey?: string,
) {
  const call = testApp
    .http()
    .post(`/api/v1/events/${eventId}/bookings`)
    .set('Authorization', `Bearer ${buyer.token}`);
  if (idempotencyKey !== undefined) call.set('Idempotency-Key', idempotencyKey);
  return call.send(body);
}

/**
 * README's invariants (one order per ticket, counters equal the rows), read from PostgreSQL: per type, the counters equal the
 * rows and add up to the quantity; every locked or sold ticket belongs to exactly one
 * order that is pending (locked) or confirmed (sold); no ticket is in two live orders.
 */
export async function expectInventoryConsistent(
  dataSource: DataSource,
  eventId: string,
): Promise<void> {
  const types: {
    id: string;
    quantity: number;
    available: string;
    locked: string;
    sold: string;
    rows: string;
    row_available: string;
    row_locked: string;
    row_sold: string;
  }[] = await dataSource.query(
    `SELECT tt.id, tt.quantity,
              (SELECT sum(available) FROM ticket_type_counters c WHERE c.ticket_type_id = tt.id) AS available,
              (SELECT sum(locked) FROM ticket_type_counters c WHERE c.ticket_type_id = tt.id) AS locked,
              (SELECT sum(sold) FROM ticket_type_counters c WHERE c.ticket_type_id = tt.id) AS sold,
              (SELECT count(*) FROM tickets t WHERE t.ticket_type_id = tt.id) AS rows,
              (SELECT count(*) FROM tickets t WHERE t.ticket_type_id = tt.id AND status = 'available') AS row_available,
              (SELECT count(*) FROM tickets t WHERE t.ticket_type_id = tt.id AND status = 'locked') AS row_locked,
              (SELECT count(*) FROM tickets t WHERE t.ticket_type_id = tt.id AND status = 'sold') AS row_sold
       FROM ticket_types tt WHERE tt.event_id = $1`,
    [eventId],
  );
  for (const type of types) {
    expect({
      available: Number(type.available),
      locked: Number(type.locked),
      sold: Number(type.sold),
      rows: Number(type.rows),
    }).toEqual({
      available: Number(type.row_available),
      locked: Number(type.row_locked),
      sold: Number(type.row_sold),
      rows: type.quantity,
    });
  }
  const badHolders = await dataSource.query(
    `SELECT t.id, t.status, o.status AS order_status
     FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
     LEFT JOIN orders o ON o.id = t.order_id
     WHERE tt.event_id = $1 AND t.status <> 'available'
       AND NOT ((t.status = 'locked' AND o.status = 'pending') OR (t.status = 'sold' AND o.status = 'confirmed'))`,
    [eventId],
  );
  expect(badHolders).toEqual([]);
  const doubleBooked = await dataSource.query(
    `SELECT oi.ticket_id, count(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id
     WHERE o.event_id = $1 AND o.status IN ('pending', 'confirmed')
     GROUP BY oi.ticket_id HAVING count(*) > 1`,
    [eventId],
  );
  expect(doubleBooked).toEqual([]);
  const heldElsewhere = await dataSource.query(
    `SELECT oi.ticket_id FROM order_items oi JOIN orders o ON o.id = oi.order_id
     JOIN tickets t ON t.id = oi.ticket_id
     WHERE o.event_id = $1 AND o.status IN ('pending', 'confirmed') AND t.order_id IS DISTINCT FROM o.id`,
    [eventId],
  );
  expect(heldElsewhere).toEqual([]);
}
