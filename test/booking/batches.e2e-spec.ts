import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { HoldBatcher } from '@app/orders';
import { TicketLockService } from '@app/tickets';
import { type Answer, type BookedOrder, freeInLockStore, orderOf } from '../support/booking-checks';
import {
  book,
  createBuyers,
  createEvent,
  expectInventoryConsistent,
  type TestEvent,
} from '../support/booking';
import { eventually } from '../support/eventually';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

type Mode = 'quantity' | 'ticketIds';

interface Booking {
  buyer: TestUser;
  eventId: string;
  answer: Answer;
}

/**
 * Group commit (HoldBatcher.hold): holds racing at once share one statement. Each batch
 * here mixes successes with every way a hold fails, and each buyer's fate must be their
 * own: a 201 holds exactly its tickets, a failure holds none, and the invariants hold.
 */
describe('batched holds: one buyer’s failure never fails the batch', () => {
  let testApp: TestApp;
  let admin: TestUser;
  /** Size and outcomes of every hold statement the app ran. */
  let batches: { holds: number; held: number }[];
  /** Any batch including one of these buyers fails (an injected database error). */
  let doomed: Set<string>;
  /**
   * Hold statements wait here until the test opens it: requests from this one process
   * arrive slower than the database answers them, so without a queue they rarely batch.
   * Open except during a race.
   */
  let gate: { opened: Promise<void>; open: () => void };
  let restore: () => void;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0', HOLD_SECONDS: '3600' });
    admin = await createUser(testApp, { admin: true });
    const pgPool = (testApp.dataSource.driver as PostgresDriver).master as {
      query: (...args: unknown[]) => Promise<{ rows: { order: unknown }[] }>;
    };
    const query = pgPool.query.bind(pgPool);
    const spy = jest.spyOn(pgPool, 'query').mockImplementation(async (...args: unknown[]) => {
      const statement = args[0] as { name?: string; values?: unknown[][] };
      if (statement.name !== 'booking.hold') return query(...args);
      const userIds = statement.values![1] as string[];
      await gate.opened;
      if (userIds.some((id) => doomed.has(id)))
        throw new Error('injected: this batch fails in the database');
      const result = await query(...args);
      batches.push({
        holds: userIds.length,
        held: result.rows.filter((row) => row.order !== null).length,
      });
      return result;
    });
    restore = () => spy.mockRestore();
  });

  beforeEach(() => {
    batches = [];
    doomed = new Set();
    gate = { opened: Promise.resolve(), open: () => {} };
  });

  afterAll(async () => {
    restore();
    await testApp.close();
  });

  async function availableIds(event: TestEvent): Promise<string[]> {
    const rows: { id: string }[] = await testApp.dataSource.query(
      `SELECT id FROM tickets WHERE ticket_type_id = $1 AND status = 'available' ORDER BY serial`,
      [event.ticketTypes[0].id],
    );
    return rows.map((row) => row.id);
  }

  it.each<Mode>(['quantity', 'ticketIds'])(
    '500 buyers by %s: second pending orders, stale claims, a cancelled event, a failing hold',
    async (mode) => {
      const sale = await createEvent(testApp, admin, {
        maxTicketsPerOrder: 4,
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 300 }],
      });
      const doomedSale = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 200 }],
      });
      const buyers = await createBuyers(testApp, 500);
      const holders = buyers.slice(0, 40); // already hold a pending order for the sale
      const doubles = buyers.slice(40, 60); // book twice at once
      const crowd = buyers.slice(60, 340);
      const [failing] = buyers.slice(340, 341); // their hold's statement fails (second event)
      const early = buyers.slice(341, 420); // book the second event before it is cancelled
      const late = buyers.slice(420, 500); // book it after

      // Ids to ask for (explicit mode): for the sale, overlapping sets of 1–3 over the free
      // tickets, so buyers collide on ids; for the other event, one id each, none shared.
      // In quantity mode the lock store hands ids out.
      const ids = new Map<string, string[]>();
      const body = (i: number, event: TestEvent) => {
        if (mode === 'quantity')
          return { ticketTypeId: event.ticketTypes[0].id, quantity: 1 + (i % 2) };
        const free = ids.get(event.id)!;
        if (event === doomedSale) return { ticketIds: [free[i]] };
        const start = (i * 7) % (free.length - 3);
        return { ticketIds: free.slice(start, start + 1 + (i % 3)) };
      };

      const held: Booking[] = [];
      for (const buyer of holders) {
        const answer = await book(testApp, buyer, sale.id, {
          ticketTypeId: sale.ticketTypes[0].id,
          quantity: 1,
        });
        expect(answer.status).toBe(201);
        held.push({ buyer, eventId: sale.id, answer });
      }
      // A stale lock store: ids held in PostgreSQL are back in it, as after a reload that
      // raced a booking; holds that claim them must drop them and (by quantity) claim again.
      const heldIds = held.flatMap(({ answer }) => orderOf(answer).tickets.map((t) => t.id));
      await testApp.app
        .get(TicketLockService)
        .release({ eventId: sale.id, ticketTypeId: sale.ticketTypes[0].id }, heldIds.slice(0, 20));
      ids.set(sale.id, [...heldIds.slice(0, 20), ...(await availableIds(sale))]);
      ids.set(doomedSale.id, await availableIds(doomedSale));
      doomed.add(failing.id);
      let open = () => {};
      const opened = new Promise<void>((resolve) => (open = resolve));
      gate = { opened, open };

      const race = (who: TestUser[], eventId: string, offset: number, event: TestEvent) =>
        who.map((buyer, i) =>
          book(testApp, buyer, eventId, body(offset + i, event)).then((answer): Booking => ({
            buyer,
            eventId,
            answer,
          })),
        );
      const saleBookings = [
        ...race(holders, sale.id, 0, sale),
        ...race(doubles, sale.id, 100, sale),
        ...race(doubles, sale.id, 200, sale),
        ...race(crowd, sale.id, 300, sale),
      ];
      const earlyBookings = race(early, doomedSale.id, 0, doomedSale);
      const [failingBooking] = race([failing], doomedSale.id, 190, doomedSale);
      // A crowd queues behind the first statements, then they all go.
      const holds = testApp.app.get(HoldBatcher);
      await eventually(() => Promise.resolve(holds.holdsWaiting >= 100), {
        timeoutMs: 60_000,
        what: '100 holds queued',
      });
      gate.open();
      const earlyAnswers = await Promise.all(earlyBookings);
      // Cancelled as another instance would, whose news this one's event cache has not heard.
      await testApp.dataSource.query(`UPDATE events SET status = 'cancelled' WHERE id = $1`, [
        doomedSale.id,
      ]);
      const lateAnswers = await Promise.all(race(late, doomedSale.id, early.length, doomedSale));
      const saleAnswers = await Promise.all(saleBookings);

      // Batches formed and mixed outcomes.
      expect(Math.max(...batches.map((batch) => batch.holds))).toBeGreaterThan(1);
      expect(batches.some((batch) => batch.held > 0 && batch.held < batch.holds)).toBe(true);

      // Each failure kind failed its buyer alone.
      earlyAnswers.forEach(({ answer }) => expect(answer.status).toBe(201));
      lateAnswers.forEach(({ answer }) => expectProblem(answer, 409));
      const of = (buyer: TestUser) => saleAnswers.filter((booking) => booking.buyer === buyer);
      for (const holder of holders) expectProblem(of(holder)[0].answer, 409);
      for (const buyer of doubles)
        expect(of(buyer).filter(({ answer }) => answer.status === 201).length).toBeLessThanOrEqual(
          1,
        );
      const failed = (await failingBooking).answer;
      expect(failed.status).toBe(500);
      expectProblem(failed, 500);
      const wins = saleAnswers.filter(({ answer }) => answer.status === 201);
      expect(wins.length).toBeGreaterThan(50);
      saleAnswers
        .filter(({ answer }) => answer.status !== 201)
        .forEach(({ answer }) => expectProblem(answer, answer.status === 500 ? 500 : 409));

      // Every 201 holds exactly its tickets; nobody else holds any.
      const created = [...held, ...wins, ...earlyAnswers];
      await expectExactlyHeld(testApp, created, buyers);
      const listed = created.flatMap(({ answer }) => orderOf(answer).tickets.map((t) => t.id));
      expect(new Set(listed).size).toBe(listed.length);
      for (const event of [sale, doomedSale])
        await expectInventoryConsistent(testApp.dataSource, event.id);

      // Stale ids claimed were dropped, the rest given back: the store agrees with PostgreSQL.
      const pool = { eventId: sale.id, ticketTypeId: sale.ticketTypes[0].id };
      if (mode === 'quantity')
        expect(await freeInLockStore(testApp, pool)).toBe((await availableIds(sale)).length);
    },
    180_000,
  );

  it('warm start: the lock store has an event’s free ids once it is created, grown or updated', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 50 }],
    });
    const pool = { eventId: event.id, ticketTypeId: event.ticketTypes[0].id };
    expect(await freeInLockStore(testApp, pool)).toBe(50);

    const patch = (path: string, body: object) =>
      testApp
        .http()
        .patch(`/api/v1/events/${event.id}${path}`)
        .set('Authorization', `Bearer ${admin.token}`)
        .send(body)
        .expect(200);
    await patch(`/ticket-types/${pool.ticketTypeId}`, { quantity: 80 });
    expect(await freeInLockStore(testApp, pool)).toBe(80);

    // Redis loses the pool; the next change to the event (a cancelled one is never reopened)
    // reloads it before answering.
    await testApp.app.get<Redis>(getRedisConnectionToken()).flushdb();
    expect(await freeInLockStore(testApp, pool)).toBeNull();
    await patch('', { description: 'Doors open at seven' });
    expect(await freeInLockStore(testApp, pool)).toBe(80);
  });
});

/** In PostgreSQL: the orders of these buyers are exactly the 201s, each locking its tickets. */
async function expectExactlyHeld(testApp: TestApp, created: Booking[], buyers: TestUser[]) {
  const orders: BookedOrder[] = created.map(({ answer }) => orderOf(answer));
  const rows: { id: string; ids: string[] | null }[] = await testApp.dataSource.query(
    `SELECT o.id, (SELECT array_agg(t.id::text ORDER BY t.id) FROM tickets t
                    WHERE t.order_id = o.id AND t.status = 'locked') AS ids
     FROM orders o WHERE o.user_id = ANY($1::uuid[]) AND o.status = 'pending'`,
    [buyers.map((buyer) => buyer.id)],
  );
  expect(rows.map((row) => row.id).sort()).toEqual(orders.map((order) => order.id).sort());
  const lockedBy = new Map(rows.map((row) => [row.id, row.ids]));
  for (const order of orders)
    expect(lockedBy.get(order.id)).toEqual(order.tickets.map((ticket) => ticket.id).sort());
  const [{ count }]: { count: string }[] = await testApp.dataSource.query(
    `SELECT count(*) FROM orders WHERE user_id = ANY($1::uuid[])`,
    [buyers.map((buyer) => buyer.id)],
  );
  expect(Number(count)).toBe(orders.length);
}
