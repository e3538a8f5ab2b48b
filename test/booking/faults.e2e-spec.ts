import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { HoldRelease } from '@app/orders';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { InventoryReconcileJob, TicketLockService, type TicketPool } from '@app/tickets';
import {
  type Answer,
  expectAnswersHoldExactly,
  freeInLockStore,
  orderOf,
  ticketCounts,
} from '../support/booking-checks';
import {
  book,
  createBuyers,
  createEvent,
  expectInventoryConsistent,
  type TestEvent,
} from '../support/booking';
import { eventually } from '../support/eventually';
import { freePort } from '../support/processes';
import { RedisServer } from '../support/redis-server';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

/** What docs/reliability.md ("When a dependency is away") promises of an answer while Redis is away: fast, typed, retryable. */
const UNAVAILABLE_WITHIN_MS = 2000;

interface TimedAnswer extends Answer {
  ms: number;
}

async function timed(request: PromiseLike<Answer>): Promise<TimedAnswer> {
  const started = Date.now();
  const answer = await request;
  return {
    status: answer.status,
    headers: answer.headers,
    body: answer.body,
    ms: Date.now() - started,
  };
}

function expectUnavailable(answer: TimedAnswer): void {
  expectProblem(answer, 503);
  expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
  expect(answer.ms).toBeLessThan(UNAVAILABLE_WITHIN_MS);
}

function poolOf(event: TestEvent): TicketPool {
  return { eventId: event.id, ticketTypeId: event.ticketTypes[0].id };
}

describe('booking with a Redis of its own (flushed, failing, stopped)', () => {
  let redis: RedisServer;
  let client: Redis;
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = redis.client();
    await client.connect();
    testApp = await startTestApp({ REDIS_URL: redis.url, AUTH_RATE_LIMIT: '0' });
    admin = await createUser(testApp, { admin: true });
  });

  afterAll(async () => {
    await testApp?.close();
    client?.disconnect();
    await redis?.stop();
  });

  it('FLUSHDB in the middle of a race: no oversell, the store reloads, counts agree', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 100 }],
    });
    const type = event.ticketTypes[0];
    const pool = poolOf(event);
    const buyers = await createBuyers(testApp, 160);
    let settled = 0;
    const fire = (wave: TestUser[]) =>
      wave.map((buyer) =>
        book(testApp, buyer, event.id, { ticketTypeId: type.id, quantity: 1 }).then(
          (answer): Answer => {
            settled += 1;
            return answer;
          },
        ),
      );

    const first = fire(buyers.slice(0, 80));
    await Promise.race(first);
    const settledAtFirstFlush = settled;
    await client.flushdb();
    const second = fire(buyers.slice(80));
    await Promise.race(second);
    const settledAtSecondFlush = settled;
    await client.flushdb();
    const answers = await Promise.all([...first, ...second]);

    // Both flushes hit bookings in flight.
    expect(settledAtFirstFlush).toBeLessThan(80);
    expect(settledAtSecondFlush).toBeLessThan(buyers.length);
    const created = answers.filter((answer) => answer.status === 201);
    expect(created.length).toBeGreaterThan(0);
    expect(created.length).toBeLessThanOrEqual(type.quantity);
    answers
      .filter((answer) => answer.status !== 201)
      .forEach((answer) => {
        expect([409, 503]).toContain(answer.status);
        expectProblem(answer, answer.status);
      });
    const orders = await expectAnswersHoldExactly(testApp.dataSource, event.id, buyers, answers);
    const counts = await ticketCounts(testApp.dataSource, type.id);
    expect(counts).toEqual({
      available: type.quantity - orders.length,
      locked: orders.length,
      sold: 0,
    });
    await expectInventoryConsistent(testApp.dataSource, event.id);

    // The store was rebuilt from PostgreSQL; the reconcile job drops what it still has wrong.
    await testApp.app.get(InventoryReconcileJob).run({ quietMs: 0 });
    expect(await freeInLockStore(testApp, pool)).toBe(counts.available);

    // A hold that ends goes back into the rebuilt store, and a later booking gets it.
    const [released] = await testApp.app.get(HoldRelease).release([orders[0].id], 'cancelled');
    expect(released.tickets.map((ticket) => ticket.id)).toEqual(
      orders[0].tickets.map((ticket) => ticket.id),
    );
    expect(await freeInLockStore(testApp, pool)).toBe(counts.available + 1);
    const [late] = await createBuyers(testApp, 1);
    const later = await book(testApp, late, event.id, { ticketIds: [orders[0].tickets[0].id] });
    expect(later.status).toBe(201);
    expect(await freeInLockStore(testApp, pool)).toBe(counts.available);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it('a failure after the claim, before the commit: the claim goes back, nothing is held', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 10 }],
    });
    const type = event.ticketTypes[0];
    const pool = poolOf(event);
    const [warmup, buyer, other] = await createBuyers(testApp, 3);
    await book(testApp, warmup, event.id, { ticketTypeId: type.id, quantity: 1 }).expect(201);
    const freeBefore = await freeInLockStore(testApp, pool);
    const countsBefore = await ticketCounts(testApp.dataSource, type.id);
    // The hold statement (the booking's transaction) fails: the connection drops or the
    // database aborts before it commits. It runs as a prepared statement on TypeORM's pool.
    const pgPool = (testApp.dataSource.driver as PostgresDriver).master as {
      query: (...args: unknown[]) => Promise<unknown>;
    };
    const query = pgPool.query.bind(pgPool);
    let holdsToFail = 1;
    const crash = jest.spyOn(pgPool, 'query').mockImplementation((...args: unknown[]) => {
      const isHold = (args[0] as { name?: string }).name === 'booking.hold';
      if (!isHold || holdsToFail === 0) return query(...args);
      holdsToFail -= 1;
      return Promise.reject(new Error('injected: the process fails before the commit'));
    });

    try {
      const failed = await book(testApp, buyer, event.id, { ticketTypeId: type.id, quantity: 3 });
      expect(holdsToFail).toBe(0);
      expect(failed.status).toBeGreaterThanOrEqual(500);
      expectProblem(failed, failed.status);
      expect(await freeInLockStore(testApp, pool)).toBe(freeBefore);
      expect(await ticketCounts(testApp.dataSource, type.id)).toEqual(countsBefore);

      // The same with explicit ids: exactly those come back, bookable by someone else.
      const available = await testApp
        .http()
        .get(`/api/v1/events/${event.id}/tickets?status=available&pageSize=2`)
        .expect(200);
      const ids = (available.body.items as { id: string }[]).map((ticket) => ticket.id);
      holdsToFail = 1;
      const failedIds = await book(testApp, buyer, event.id, { ticketIds: ids });
      expect(failedIds.status).toBeGreaterThanOrEqual(500);
      expect(await freeInLockStore(testApp, pool)).toBe(freeBefore);
      const taken = await book(testApp, other, event.id, { ticketIds: ids });
      expect(taken.status).toBe(201);
    } finally {
      crash.mockRestore();
    }

    // Nothing was left behind for the buyer either: their next booking just works.
    const retried = await book(testApp, buyer, event.id, { ticketTypeId: type.id, quantity: 3 });
    expect(retried.status).toBe(201);
    expect(await ticketCounts(testApp.dataSource, type.id)).toEqual({
      available: type.quantity - 6,
      locked: 6,
      sold: 0,
    });
    expect(await freeInLockStore(testApp, pool)).toBe(type.quantity - 6);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it('a crash between claim and commit: the reconcile job restores the lost ids', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 8 }],
    });
    const type = event.ticketTypes[0];
    const pool = poolOf(event);
    const [buyer] = await createBuyers(testApp, 1);
    // A booking that claimed in Redis and died before PostgreSQL heard of it.
    const claim = await testApp.app
      .get(TicketLockService)
      .claim(pool, 5, new Date((event as TestEvent & { startsAt: string }).startsAt), {
        userId: randomUUID(),
        orderId: randomUUID(),
        guardTtlMs: 60_000,
        ratePerMinute: 0,
      });
    const lost = 'ticketIds' in claim ? claim.ticketIds : [];
    expect(await freeInLockStore(testApp, pool)).toBe(type.quantity - lost.length);
    expect((await ticketCounts(testApp.dataSource, type.id)).available).toBe(type.quantity);

    const refused = await book(testApp, buyer, event.id, {
      ticketTypeId: type.id,
      quantity: type.quantity,
    });
    expectProblem(refused, 409);

    const reloaded = await testApp.app.get(InventoryReconcileJob).run({ quietMs: 0 });

    expect(reloaded).toBeGreaterThanOrEqual(1);
    expect(await freeInLockStore(testApp, pool)).toBe(type.quantity);
    const booked = await book(testApp, buyer, event.id, {
      ticketTypeId: type.id,
      quantity: type.quantity,
    });
    expect(booked.status).toBe(201);
    expect(orderOf(booked).tickets.map((ticket) => ticket.id)).toEqual(
      expect.arrayContaining(lost),
    );
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it('Redis lost every pool: the reconcile job loads them again before anyone books', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [
        { name: 'General Admission', price: 2500, quantity: 30 },
        { name: 'VIP', price: 9000, quantity: 5 },
      ],
    });
    const [buyer] = await createBuyers(testApp, 1);
    const [general, vip] = event.ticketTypes;
    await book(testApp, buyer, event.id, { ticketTypeId: general.id, quantity: 4 }).expect(201);
    const pools = event.ticketTypes.map((type) => ({ eventId: event.id, ticketTypeId: type.id }));
    await client.flushdb();
    expect(await freeInLockStore(testApp, pools[0])).toBeNull();

    // The default quiet period: a lost pool does not wait for it.
    const reloaded = await testApp.app.get(InventoryReconcileJob).run();

    expect(reloaded).toBeGreaterThanOrEqual(2);
    expect(await freeInLockStore(testApp, pools[0])).toBe(general.quantity - 4);
    expect(await freeInLockStore(testApp, pools[1])).toBe(vip.quantity);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it('holds expire even after Redis lost every key, and their tickets sell again', async () => {
    const shortHolds = await startTestApp({
      REDIS_URL: redis.url,
      HOLD_SECONDS: '2',
      AUTH_RATE_LIMIT: '0',
    });
    try {
      const event = await createEvent(shortHolds, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 5 }],
      });
      const type = event.ticketTypes[0];
      const [buyer, next] = await createBuyers(shortHolds, 2);
      const held = await book(shortHolds, buyer, event.id, { ticketTypeId: type.id, quantity: 5 });
      expect(held.status).toBe(201);
      await client.flushdb();

      await eventually(
        async () => {
          const read = await shortHolds
            .http()
            .get(`/api/v1/orders/${orderOf(held).id}`)
            .set('Authorization', `Bearer ${buyer.token}`);
          return read.body.status === 'expired';
        },
        { timeoutMs: 6_000, intervalMs: 100, what: 'the hold to expire' },
      );

      expect(await ticketCounts(shortHolds.dataSource, type.id)).toEqual({
        available: type.quantity,
        locked: 0,
        sold: 0,
      });
      await expectInventoryConsistent(shortHolds.dataSource, event.id);
      const again = await book(testApp, next, event.id, { ticketTypeId: type.id, quantity: 5 });
      expect(again.status).toBe(201);
      expect(await freeInLockStore(testApp, poolOf(event))).toBe(0);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    } finally {
      await shortHolds.close();
    }
  });

  it('Redis stopped mid-race: 503 with Retry-After at once, no oversell, back when it is', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 50 }],
    });
    const type = event.ticketTypes[0];
    const pool = poolOf(event);
    const buyers = await createBuyers(testApp, 45);
    const bookOne = (buyer: TestUser) =>
      timed(book(testApp, buyer, event.id, { ticketTypeId: type.id, quantity: 1 }));
    const before = await Promise.all(buyers.slice(0, 5).map(bookOne));
    expect(before.map((answer) => answer.status)).toEqual(before.map(() => 201));

    const racing = buyers.slice(5, 35).map(bookOne);
    await Promise.race(racing);
    await redis.stop();
    const during = await Promise.all(racing);
    const whileDown = await Promise.all(buyers.slice(35).map(bookOne));

    for (const answer of during) {
      expect([201, 503]).toContain(answer.status);
      if (answer.status === 503) expectUnavailable(answer);
    }
    whileDown.forEach(expectUnavailable);
    const answers = [...before, ...during, ...whileDown];
    const orders = await expectAnswersHoldExactly(testApp.dataSource, event.id, buyers, answers);
    expect(await ticketCounts(testApp.dataSource, type.id)).toEqual({
      available: type.quantity - orders.length,
      locked: orders.length,
      sold: 0,
    });
    // Reads do not need Redis.
    await testApp.http().get(`/api/v1/events/${event.id}`).expect(200);
    await expectInventoryConsistent(testApp.dataSource, event.id);

    // Redis comes back empty: the pool is rebuilt from PostgreSQL on the next booking.
    await redis.start();
    const [late] = await createBuyers(testApp, 1);
    const back = await eventually(
      async () => {
        const answer = await book(testApp, late, event.id, { ticketTypeId: type.id, quantity: 2 });
        if (answer.status === 503) return undefined;
        return answer;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'bookings to work again' },
    );
    expect(back.status).toBe(201);
    const after = await ticketCounts(testApp.dataSource, type.id);
    expect(after.locked).toBe(orders.length + 2);
    expect(await freeInLockStore(testApp, pool)).toBe(after.available);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });
});

describe('booking with Redis unreachable from the start', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp({
      REDIS_URL: `redis://127.0.0.1:${await freePort()}/0`,
      AUTH_RATE_LIMIT: '0',
    });
  });
  afterAll(() => testApp?.close());

  it('answers 503 problem+json with Retry-After within 2 s, never hangs, holds nothing', async () => {
    // Users straight from SQL (logging in may itself need Redis): an admin and 20 buyers.
    const [admin, ...buyers] = await createBuyers(testApp, 21);
    await testApp.dataSource.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.id]);
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 10 }],
    });
    const type = event.ticketTypes[0];
    const listed = await testApp
      .http()
      .get(`/api/v1/events/${event.id}/tickets?pageSize=2`)
      .expect(200);
    const ids = (listed.body.items as { id: string }[]).map((ticket) => ticket.id);

    const answers = await Promise.all([
      ...buyers
        .slice(1)
        .map((buyer) =>
          timed(book(testApp, buyer, event.id, { ticketTypeId: type.id, quantity: 1 })),
        ),
      timed(book(testApp, buyers[0], event.id, { ticketIds: ids })),
    ]);

    answers.forEach(expectUnavailable);
    expect(await ticketCounts(testApp.dataSource, type.id)).toEqual({
      available: type.quantity,
      locked: 0,
      sold: 0,
    });
    const [{ count }] = await testApp.dataSource.query(
      `SELECT count(*)::int AS count FROM orders WHERE event_id = $1`,
      [event.id],
    );
    expect(count).toBe(0);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });
});
