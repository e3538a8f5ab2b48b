import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import * as argon2 from 'argon2';
import type { DataSource } from 'typeorm';
import { findViolations } from './invariants';
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
 * The booking invariants of the event (test/support/invariants.js: inventory adds up and
 * equals the counters; every held or sold ticket belongs to exactly one live order, in the
 * matching status, listed in it; every pending order holds exactly its quantity).
 */
export async function expectInventoryConsistent(
  dataSource: DataSource,
  eventId: string,
): Promise<void> {
  expect(await findViolations(dataSource, { eventIds: [eventId] })).toEqual([]);
}
