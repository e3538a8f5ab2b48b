import Redis from 'ioredis';
import { Client } from 'pg';
import { book, createBuyers, createEvent, type TestEvent } from './booking';
import { orderOf, type BookedOrder } from './booking-checks';
import { findViolations, type InvariantScope, lockStoreMismatches } from './invariants';
import { createUser, startTestApp, type TestApp } from './test-app';

/**
 * The one invariants helper (e2e, chaos, soak and bench rely on it) catches what each of its
 * checks is for: every case corrupts two real holds inside a transaction that is rolled back
 * (the app's jobs never see it) and must be reported; the untouched state reports nothing.
 */
describe('invariants helper: each check reports its violation', () => {
  let testApp: TestApp;
  let client: Client;
  let redis: Redis;
  let event: TestEvent;
  let pair: BookedOrder;
  let single: BookedOrder;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0' });
    const admin = await createUser(testApp, { admin: true });
    event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 10 }],
    });
    const [first, second] = await createBuyers(testApp, 2);
    const ticketTypeId = event.ticketTypes[0].id;
    pair = orderOf(await book(testApp, first, event.id, { ticketTypeId, quantity: 2 }));
    single = orderOf(await book(testApp, second, event.id, { ticketTypeId, quantity: 1 }));
    client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    redis = new Redis(process.env.REDIS_URL!);
  });
  afterAll(async () => {
    redis?.disconnect();
    await client?.end();
    await testApp?.close();
  });

  const scope = (more: Omit<InvariantScope, 'eventIds'> = {}): InvariantScope => ({
    eventIds: [event.id],
    ...more,
  });

  /** What the checks find with `corrupt` applied, in a transaction rolled back afterwards. */
  async function violationsWith(
    corrupt: string,
    values: (ids: { type: string; pair: string; single: string; ticket: string }) => unknown[],
    more: Omit<InvariantScope, 'eventIds'> = {},
  ): Promise<string[]> {
    await client.query('BEGIN');
    try {
      const ids = {
        type: event.ticketTypes[0].id,
        pair: pair.id,
        single: single.id,
        ticket: pair.tickets[0].id,
      };
      await client.query(corrupt, values(ids));
      return await findViolations(client, scope(more));
    } finally {
      await client.query('ROLLBACK');
    }
  }

  afterEach(async () => {
    expect(await findViolations(testApp.dataSource, scope())).toEqual([]);
  });

  it('reports nothing for two honest holds, whatever it is told of them', async () => {
    const created = [pair, single].map((order) => ({
      orderId: order.id,
      ticketIds: order.tickets.map((ticket) => ticket.id),
    }));
    expect(await findViolations(client, scope({ created, expiredHoldGraceSeconds: 5 }))).toEqual(
      [],
    );
    expect(await lockStoreMismatches(redis, client, event.id)).toEqual([]);
  });

  it.each<[string, string, (ids: Record<string, string>) => unknown[], RegExp]>([
    [
      'ticket rows that do not add up to the quantity',
      `UPDATE ticket_types SET quantity = quantity + 1 WHERE id = $1`,
      (ids) => [ids.type],
      /^type .*: rows \{"available":7,"locked":3,"sold":0\} ≠ quantity 11$/,
    ],
    [
      'counters that drifted from the rows',
      `UPDATE ticket_type_counters SET locked = locked + 1
       WHERE ticket_type_id = $1 AND shard = (SELECT min(shard) FROM ticket_type_counters
                                              WHERE ticket_type_id = $1)`,
      (ids) => [ids.type],
      /^type .*: counters \{"available":7,"locked":4,"sold":0\} ≠ rows/,
    ],
    [
      'a locked ticket of an order that is no longer pending',
      `UPDATE orders SET status = 'confirmed' WHERE id = $1`,
      (ids) => [ids.pair],
      /^ticket .* is locked for an order that is confirmed$/,
    ],
    [
      'a sold ticket of a pending order',
      `UPDATE tickets SET status = 'sold', held_until = NULL WHERE id = $1`,
      (ids) => [ids.ticket],
      /^ticket .* is sold for an order that is pending$/,
    ],
    [
      'a held ticket its order does not list',
      `DELETE FROM order_items WHERE order_id = $1 AND ticket_id = $2`,
      (ids) => [ids.pair, ids.ticket],
      /^ticket .* held outside its order$/,
    ],
    [
      'a ticket in two live orders',
      `INSERT INTO order_items (order_id, ticket_id, ticket_type_id, label, price)
       SELECT $2, ticket_id, ticket_type_id, label, price FROM order_items
       WHERE order_id = $1 AND ticket_id = $3`,
      (ids) => [ids.pair, ids.single, ids.ticket],
      /^ticket .* is in 2 live order\(s\), held by 1$/,
    ],
    [
      'a pending order holding less than its quantity',
      `UPDATE orders SET quantity = quantity + 1 WHERE id = $1`,
      (ids) => [ids.pair],
      /^pending order .* of 3 ticket\(s\) holds 2$/,
    ],
  ])('reports %s', async (_what, corrupt, values, expected) => {
    const violations = await violationsWith(corrupt, values);
    expect(violations).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it('reports a 201 that listed other tickets than its order holds, or no order at all', async () => {
    const created = [
      { orderId: single.id, ticketIds: [pair.tickets[0].id] },
      { orderId: '00000000-0000-7000-8000-000000000000', ticketIds: [] },
    ];
    expect(await findViolations(client, scope({ created }))).toEqual([
      `201 for order ${single.id} listed other tickets than it holds`,
      '201 for order 00000000-0000-7000-8000-000000000000, which does not exist',
    ]);
  });

  it('reports a hold the expiry job left pending past its grace', async () => {
    const violations = await violationsWith(
      `UPDATE orders SET expires_at = now() - interval '1 minute' WHERE id = $1`,
      (ids) => [ids.single],
      { expiredHoldGraceSeconds: 5 },
    );
    expect(violations).toEqual([`order ${single.id} is pending past its expiry`]);
  });

  it('reports a paid order that ended neither confirmed nor refunded', async () => {
    expect(await findViolations(client, scope({ paidOrderIds: [pair.id] }))).toEqual([
      `paid order ${pair.id} ended pending`,
    ]);
  });

  it('reports a lock store whose free ids differ from the available tickets', async () => {
    const free = `tickets:{${event.id}}:${event.ticketTypes[0].id}:free`;
    const [taken] = await redis.spop(free, 1);
    try {
      expect(await lockStoreMismatches(redis, client, event.id)).toEqual([
        `lock store has 6 free of type ${event.ticketTypes[0].id}, PostgreSQL 7`,
      ]);
    } finally {
      await redis.sadd(free, taken);
    }
  });
});
