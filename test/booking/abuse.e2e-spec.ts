import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { TicketPool } from '@app/tickets';
import { freeInLockStore, orderOf, ticketCounts } from '../support/booking-checks';
import {
  book,
  createBuyers,
  createEvent,
  expectInventoryConsistent,
  type TestEvent,
} from '../support/booking';
import { payThroughSimulator } from '../support/tickets';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

const ALREADY_HOLDING = 'urn:tickets:problem:booking.already_holding';
const RATE_LIMITED = 'urn:tickets:problem:booking.rate_limited';

function poolOf(event: TestEvent): TicketPool {
  return { eventId: event.id, ticketTypeId: event.ticketTypes[0].id };
}

/** Orders of a buyer, by status, from PostgreSQL. */
async function ordersOf(testApp: TestApp, userId: string): Promise<Record<string, number>> {
  const rows: { status: string; count: number }[] = await testApp.dataSource.query(
    `SELECT status, count(*)::int AS count FROM orders WHERE user_id = $1 GROUP BY status`,
    [userId],
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.count]));
}

describe('one account cannot spoil a sale (the buyer guard and BOOKING_RATE_LIMIT)', () => {
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0', BOOKING_RATE_LIMIT: '30' });
    admin = await createUser(testApp, { admin: true });
  });
  afterAll(() => testApp.close());

  it('200 concurrent bookings of 10 from one account keep no ticket from 40 honest buyers', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 50 }],
    });
    const typeId = event.ticketTypes[0].id;
    const [hostile] = await createBuyers(testApp, 1);
    const honest = await createBuyers(testApp, 40);

    const [flood, fair] = await Promise.all([
      Promise.all(
        Array.from({ length: 200 }, () =>
          book(testApp, hostile, event.id, { ticketTypeId: typeId, quantity: 10 }),
        ),
      ),
      Promise.all(
        honest.map((buyer) =>
          book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 1 }),
        ),
      ),
    ]);

    // Every honest buyer who asked got a ticket: 40 + the one order of 10 = the 50 there are.
    expect(fair.map((answer) => answer.status)).toEqual(honest.map(() => 201));
    const held = flood.filter((answer) => answer.status === 201);
    expect(held.length).toBeLessThanOrEqual(1);
    for (const answer of flood.filter((a) => a.status !== 201)) {
      const problem = expectProblem(answer, answer.status === 429 ? 429 : 409);
      expect([ALREADY_HOLDING, RATE_LIMITED, 'urn:tickets:problem:booking.sold_out']).toContain(
        problem.type,
      );
    }
    expect(flood.some((answer) => answer.status === 429)).toBe(true);
    // In PostgreSQL: the hostile account holds at most its one order of 10.
    expect(await ordersOf(testApp, hostile.id)).toEqual(held.length ? { pending: 1 } : {});
    const counts = await ticketCounts(testApp.dataSource, typeId);
    expect(counts.locked).toBe(40 + 10 * held.length);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it('a buyer already holding is refused before any ticket is claimed, and books again once the order ends', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 20 }],
    });
    const typeId = event.ticketTypes[0].id;
    const pool = poolOf(event);
    const [buyer] = await createBuyers(testApp, 1);
    const first = await book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 2 });
    expect(first.status).toBe(201);
    const freeBefore = await freeInLockStore(testApp, pool);

    const again = await book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 3 });
    const explicit = await book(testApp, buyer, event.id, {
      ticketIds: [orderOf(first).tickets[0].id],
    });

    expect(expectProblem(again, 409).type).toBe(ALREADY_HOLDING);
    expect(expectProblem(explicit, 409).type).toBe(ALREADY_HOLDING);
    expect(await freeInLockStore(testApp, pool)).toBe(freeBefore);

    // Cancelled: the guard is stale, and the next booking goes through.
    await testApp
      .http()
      .post(`/api/v1/orders/${orderOf(first).id}/cancel`)
      .set('Authorization', `Bearer ${buyer.token}`)
      .expect(200);
    const afterCancel = await book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 1 });
    expect(afterCancel.status).toBe(201);

    // Paid: the buyer may buy more for the event at once.
    await payThroughSimulator(testApp, {
      orderId: orderOf(afterCancel).id,
      checkoutUrl: afterCancel.body.checkoutUrl as string,
      buyer,
    });
    const afterPaying = await book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 1 });
    expect(afterPaying.status).toBe(201);
    expect(await ordersOf(testApp, buyer.id)).toEqual({ cancelled: 1, confirmed: 1, pending: 1 });
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it("a buyer's concurrent bookings of one event are served one at a time", async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 5 }],
    });
    const typeId = event.ticketTypes[0].id;
    const [buyer] = await createBuyers(testApp, 1);

    // The first asks for more than there are: it fails, and the next one is served.
    const answers = await Promise.all([
      book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 6 }),
      ...Array.from({ length: 5 }, () =>
        book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 2 }),
      ),
    ]);

    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(1);
    expect(expectProblem(answers[0], 409).type).toBe('urn:tickets:problem:booking.sold_out');
    answers
      .slice(1)
      .filter((answer) => answer.status !== 201)
      .forEach((answer) => expect(expectProblem(answer, 409).type).toBe(ALREADY_HOLDING));
    expect((await ticketCounts(testApp.dataSource, typeId)).locked).toBe(2);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it('past BOOKING_RATE_LIMIT a buyer gets 429 with Retry-After, per event', async () => {
    const limited = await startTestApp({ AUTH_RATE_LIMIT: '0', BOOKING_RATE_LIMIT: '3' });
    try {
      const limitedAdmin = await createUser(limited, { admin: true });
      const [event, other] = await Promise.all([
        createEvent(limited, limitedAdmin),
        createEvent(limited, limitedAdmin),
      ]);
      const [buyer] = await createBuyers(limited, 1);
      const body = (e: TestEvent) => ({ ticketTypeId: e.ticketTypes[0].id, quantity: 1 });

      const tries = [];
      for (let i = 0; i < 4; i++) tries.push(await book(limited, buyer, event.id, body(event)));

      expect(tries.slice(0, 3).map((answer) => answer.status)).toEqual([201, 409, 409]);
      const refused = expectProblem(tries[3], 429);
      expect(refused.type).toBe(RATE_LIMITED);
      const retryAfter = Number(tries[3].headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect((await ticketCounts(limited.dataSource, event.ticketTypes[0].id)).locked).toBe(1);
      // Another event has its own count.
      expect((await book(limited, buyer, other.id, body(other))).status).toBe(201);
    } finally {
      await limited.close();
    }
  });

  it('the lock store lost the guard: PostgreSQL refuses, gives the tickets back, and the guard stands again', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 10 }],
    });
    const typeId = event.ticketTypes[0].id;
    const pool = poolOf(event);
    const [buyer] = await createBuyers(testApp, 1);
    expect(
      (await book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 2 })).status,
    ).toBe(201);
    const redis = new Redis(testApp.environment.REDIS_URL!);
    try {
      expect(await redis.del(`tickets:{${event.id}}:buyer:${buyer.id}`)).toBe(1);

      const refused = await book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 2 });

      expect(expectProblem(refused, 409).type).toBe(ALREADY_HOLDING);
      expect(await freeInLockStore(testApp, pool)).toBe(8);
      expect(await redis.exists(`tickets:{${event.id}}:buyer:${buyer.id}`)).toBe(1);
      const again = await book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 2 });
      expect(expectProblem(again, 409).type).toBe(ALREADY_HOLDING);
      expect(await ordersOf(testApp, buyer.id)).toEqual({ pending: 1 });
      await expectInventoryConsistent(testApp.dataSource, event.id);
    } finally {
      redis.disconnect();
    }
  });

  it('a guard whose booking died in flight lapses: the buyer is not locked out for the hold time', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 10 }],
    });
    const [buyer] = await createBuyers(testApp, 1);
    const redis = new Redis(testApp.environment.REDIS_URL!);
    try {
      // A guard naming an order that never committed, from a booking a minute ago (v7 time).
      const minuteAgo = (Date.now() - 60_000).toString(16).padStart(12, '0');
      const orphan = `${minuteAgo.slice(0, 8)}-${minuteAgo.slice(8)}-7${randomUUID().slice(15)}`;
      await redis.set(`tickets:{${event.id}}:buyer:${buyer.id}`, orphan, 'PX', 600_000);

      const booked = await book(testApp, buyer, event.id, {
        ticketTypeId: event.ticketTypes[0].id,
        quantity: 1,
      });

      expect(booked.status).toBe(201);
      expect(await redis.get(`tickets:{${event.id}}:buyer:${buyer.id}`)).toBe(orderOf(booked).id);
    } finally {
      redis.disconnect();
    }
  });
});
