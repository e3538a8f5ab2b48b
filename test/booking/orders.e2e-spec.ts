import { randomUUID } from 'node:crypto';
import { HoldRelease } from '@app/orders';
import {
  type BookedOrder,
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
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

const HOLD_SECONDS = 2;

interface OrderBody extends BookedOrder {
  eventId: string;
  userId: string;
  quantity: number;
  totalAmount: number;
  currency: string;
  expiresAt: string;
  checkoutUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

describe('orders', () => {
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0' });
    admin = await createUser(testApp, { admin: true });
  });
  afterAll(() => testApp.close());

  function getOrder(id: string, user: TestUser) {
    return testApp.http().get(`/api/v1/orders/${id}`).set('Authorization', `Bearer ${user.token}`);
  }

  function cancel(id: string, user: TestUser) {
    return testApp
      .http()
      .post(`/api/v1/orders/${id}/cancel`)
      .set('Authorization', `Bearer ${user.token}`);
  }

  async function bookOrder(app: TestApp, buyer: TestUser, event: TestEvent, body: object) {
    const answer = await book(app, buyer, event.id, body);
    expect(answer.status).toBe(201);
    return orderOf(answer) as OrderBody;
  }

  describe('reading', () => {
    let buyer: TestUser;
    let stranger: TestUser;
    let events: TestEvent[];
    let orders: OrderBody[];

    beforeAll(async () => {
      [buyer, stranger] = await createBuyers(testApp, 2);
      events = [];
      for (const price of [1500, 2500, 3500]) {
        events.push(
          await createEvent(testApp, admin, {
            currency: 'eur',
            ticketTypes: [{ name: 'General Admission', price, quantity: 10 }],
          }),
        );
      }
      orders = [];
      for (const [i, event] of events.entries()) {
        orders.push(
          await bookOrder(testApp, buyer, event, {
            ticketTypeId: event.ticketTypes[0].id,
            quantity: i + 1,
          }),
        );
      }
      await testApp.app.get(HoldRelease).release([orders[0].id], 'cancelled');
      await bookOrder(testApp, stranger, events[0], {
        ticketTypeId: events[0].ticketTypes[0].id,
        quantity: 1,
      });
    });

    it('an order says what it holds, what it costs and how to pay', async () => {
      const order = orders[2];
      const event = events[2];
      expect(order).toEqual({
        id: expect.any(String),
        status: 'pending',
        eventId: event.id,
        userId: buyer.id,
        tickets: expect.any(Array),
        quantity: 3,
        totalAmount: 3 * event.ticketTypes[0].price,
        currency: 'eur',
        expiresAt: expect.any(String),
        checkoutUrl: expect.stringContaining(`/api/v1/payments/checkout/${order.id}?token=`),
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(order.tickets).toHaveLength(3);
      for (const ticket of order.tickets) {
        expect(ticket).toEqual({
          id: expect.any(String),
          ticketTypeId: event.ticketTypes[0].id,
          label: expect.stringMatching(/^[A-Z0-9]+-\d{6,}$/),
        });
      }
      const holdMs = Date.parse(order.expiresAt) - Date.parse(order.createdAt);
      expect(holdMs).toBeGreaterThan((testApp.environment.HOLD_SECONDS - 5) * 1000);
      expect(holdMs).toBeLessThanOrEqual(testApp.environment.HOLD_SECONDS * 1000 + 1000);
      const read = await getOrder(order.id, buyer).expect(200);
      expect(read.body).toEqual(order);
    });

    it("lists the caller's orders only, newest first, by status, in pages", async () => {
      const all = await testApp
        .http()
        .get('/api/v1/orders')
        .set('Authorization', `Bearer ${buyer.token}`)
        .expect(200);
      expect(all.body.total).toBe(orders.length);
      expect((all.body.items as OrderBody[]).map((o) => o.id)).toEqual(
        [...orders].reverse().map((o) => o.id),
      );
      expect((all.body.items as OrderBody[]).every((o) => o.userId === buyer.id)).toBe(true);

      const pending = await testApp
        .http()
        .get('/api/v1/orders?status=pending')
        .set('Authorization', `Bearer ${buyer.token}`)
        .expect(200);
      expect((pending.body.items as OrderBody[]).map((o) => o.id).sort()).toEqual(
        [orders[1].id, orders[2].id].sort(),
      );
      const cancelled = await testApp
        .http()
        .get('/api/v1/orders?status=cancelled')
        .set('Authorization', `Bearer ${buyer.token}`)
        .expect(200);
      expect(cancelled.body.items).toEqual([
        expect.objectContaining({ id: orders[0].id, status: 'cancelled', checkoutUrl: null }),
      ]);
      // The tickets a released order held stay in its history.
      expect((cancelled.body.items as OrderBody[])[0].tickets).toEqual(orders[0].tickets);

      const second = await testApp
        .http()
        .get('/api/v1/orders?pageSize=2&page=2')
        .set('Authorization', `Bearer ${buyer.token}`)
        .expect(200);
      expect(second.body).toEqual(
        expect.objectContaining({ page: 2, pageSize: 2, total: orders.length }),
      );
      expect((second.body.items as OrderBody[]).map((o) => o.id)).toEqual([orders[0].id]);
    });

    it('rejects bad list queries (400) and anonymous callers (401)', async () => {
      for (const query of ['status=paid', 'pageSize=101', 'page=0', 'mine=1']) {
        expectProblem(
          await testApp
            .http()
            .get(`/api/v1/orders?${query}`)
            .set('Authorization', `Bearer ${buyer.token}`),
          400,
        );
      }
      expectProblem(await testApp.http().get('/api/v1/orders'), 401);
      expectProblem(await testApp.http().get(`/api/v1/orders/${orders[1].id}`), 401);
    });

    it("another buyer's order is not found (404), to read or to cancel; an admin reads it", async () => {
      const order = orders[1];
      expectProblem(await getOrder(order.id, stranger), 404);
      expectProblem(await cancel(order.id, stranger), 404);
      const asAdmin = await getOrder(order.id, admin).expect(200);
      expect(asAdmin.body).toEqual(
        expect.objectContaining({ id: order.id, userId: buyer.id, status: 'pending' }),
      );
      // Unknown and malformed ids.
      expectProblem(await getOrder(randomUUID(), buyer), 404);
      expectProblem(await cancel(randomUUID(), buyer), 404);
      expectProblem(await getOrder('not-an-id', buyer), 400);
    });
  });

  describe('cancelling', () => {
    it('releases the tickets at once; a second cancel is a 409 that changes nothing', async () => {
      const event = await createEvent(testApp, admin);
      const type = event.ticketTypes[0];
      const pool = { eventId: event.id, ticketTypeId: type.id };
      const [buyer, next] = await createBuyers(testApp, 2);
      const order = await bookOrder(testApp, buyer, event, { ticketTypeId: type.id, quantity: 3 });
      const held = await ticketCounts(testApp.dataSource, type.id);
      const freeHeld = await freeInLockStore(testApp, pool);

      const cancelled = await cancel(order.id, buyer);

      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toEqual(
        expect.objectContaining({ id: order.id, status: 'cancelled', checkoutUrl: null }),
      );
      const released = await ticketCounts(testApp.dataSource, type.id);
      expect(released).toEqual({
        available: held.available + 3,
        locked: held.locked - 3,
        sold: 0,
      });
      expect(await freeInLockStore(testApp, pool)).toBe(freeHeld! + 3);
      await expectInventoryConsistent(testApp.dataSource, event.id);

      const again = await cancel(order.id, buyer);
      expectProblem(again, 409);
      expect(await ticketCounts(testApp.dataSource, type.id)).toEqual(released);
      expect(await freeInLockStore(testApp, pool)).toBe(freeHeld! + 3);

      // The very same tickets can be booked again, and the buyer may book again.
      const rebooked = await bookOrder(testApp, next, event, {
        ticketIds: order.tickets.map((ticket) => ticket.id),
      });
      expect(rebooked.tickets.map((t) => t.id).sort()).toEqual(
        order.tickets.map((t) => t.id).sort(),
      );
      await bookOrder(testApp, buyer, event, { ticketTypeId: type.id, quantity: 1 });
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it("an admin may cancel a buyer's pending order", async () => {
      const event = await createEvent(testApp, admin);
      const [buyer] = await createBuyers(testApp, 1);
      const order = await bookOrder(testApp, buyer, event, {
        ticketTypeId: event.ticketTypes[0].id,
        quantity: 2,
      });
      const cancelled = await cancel(order.id, admin).expect(200);
      expect(cancelled.body.status).toBe('cancelled');
      expect((await getOrder(order.id, buyer).expect(200)).body.status).toBe('cancelled');
      expect((await ticketCounts(testApp.dataSource, event.ticketTypes[0].id)).locked).toBe(0);
    });

    it('a hold ends exactly once, however many releases race', async () => {
      const event = await createEvent(testApp, admin);
      const type = event.ticketTypes[0];
      const pool = { eventId: event.id, ticketTypeId: type.id };
      const [buyer] = await createBuyers(testApp, 1);
      const order = await bookOrder(testApp, buyer, event, { ticketTypeId: type.id, quantity: 4 });
      const holds = testApp.app.get(HoldRelease);
      const outcomes = ['expired', 'cancelled', 'failed'] as const;

      const [results, cancels] = await Promise.all([
        Promise.all(
          Array.from({ length: 9 }, (_, i) => holds.release([order.id], outcomes[i % 3])),
        ),
        Promise.all(Array.from({ length: 3 }, () => cancel(order.id, buyer))),
      ]);

      const winners = results.filter((released) => released.length > 0);
      const cancelWins = cancels.filter((answer) => answer.status === 200);
      expect(winners.length + cancelWins.length).toBe(1);
      cancels
        .filter((answer) => answer.status !== 200)
        .forEach((answer) => expectProblem(answer, 409));
      const final = (await getOrder(order.id, buyer).expect(200)).body as OrderBody;
      if (winners.length === 1) {
        expect(winners[0][0].tickets.map((t) => t.id).sort()).toEqual(
          order.tickets.map((t) => t.id).sort(),
        );
      }
      expect(['expired', 'cancelled', 'failed']).toContain(final.status);
      const counts = await ticketCounts(testApp.dataSource, type.id);
      expect(counts).toEqual({ available: type.quantity, locked: 0, sold: 0 });
      expect(await freeInLockStore(testApp, pool)).toBe(type.quantity);

      // Once more, after the fact: no effect at all.
      expect(await holds.release([order.id], 'expired')).toEqual([]);
      expect((await getOrder(order.id, buyer).expect(200)).body.status).toBe(final.status);
      expect(await ticketCounts(testApp.dataSource, type.id)).toEqual(counts);
      expect(await freeInLockStore(testApp, pool)).toBe(type.quantity);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });
  });

  describe(`expiry (HOLD_SECONDS=${HOLD_SECONDS})`, () => {
    let shortHolds: TestApp;

    beforeAll(async () => {
      shortHolds = await startTestApp({
        HOLD_SECONDS: String(HOLD_SECONDS),
        AUTH_RATE_LIMIT: '0',
      });
    });
    afterAll(() => shortHolds.close());

    it('ends an unpaid hold on time and puts its tickets back on sale', async () => {
      const event = await createEvent(shortHolds, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 6 }],
      });
      const type = event.ticketTypes[0];
      const pool = { eventId: event.id, ticketTypeId: type.id };
      const [buyer, next] = await createBuyers(shortHolds, 2);
      const key = randomUUID();
      const answer = await book(
        shortHolds,
        buyer,
        event.id,
        { ticketTypeId: type.id, quantity: 4 },
        key,
      );
      expect(answer.status).toBe(201);
      const order = orderOf(answer) as OrderBody;
      expect(Date.parse(order.expiresAt) - Date.parse(order.createdAt)).toBeLessThanOrEqual(
        HOLD_SECONDS * 1000 + 1000,
      );
      // Meanwhile the tickets are taken.
      expectProblem(
        await book(shortHolds, next, event.id, { ticketTypeId: type.id, quantity: 3 }),
        409,
      );

      const expired = await eventually(
        async () => {
          const read = await getOrder(order.id, buyer);
          return read.body.status === 'expired' ? (read.body as OrderBody) : undefined;
        },
        { timeoutMs: (HOLD_SECONDS + 4) * 1000, intervalMs: 100, what: 'the hold to expire' },
      );

      expect(expired.checkoutUrl).toBeNull();
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(order.expiresAt));
      expect(await ticketCounts(shortHolds.dataSource, type.id)).toEqual({
        available: type.quantity,
        locked: 0,
        sold: 0,
      });
      expect(await freeInLockStore(shortHolds, pool)).toBe(type.quantity);
      await expectInventoryConsistent(shortHolds.dataSource, event.id);

      // A retry of the original request gets the expired order back, not a new hold.
      const retried = await book(
        shortHolds,
        buyer,
        event.id,
        { ticketTypeId: type.id, quantity: 4 },
        key,
      );
      expect(retried.status).toBe(201);
      expect(orderOf(retried)).toEqual(
        expect.objectContaining({ id: order.id, status: 'expired' }),
      );
      expect((await ticketCounts(shortHolds.dataSource, type.id)).locked).toBe(0);

      // The very same tickets can be booked again.
      const again = await book(testApp, next, event.id, {
        ticketIds: order.tickets.map((ticket) => ticket.id),
      });
      expect(again.status).toBe(201);
      expect(
        orderOf(again)
          .tickets.map((t) => t.id)
          .sort(),
      ).toEqual(order.tickets.map((t) => t.id).sort());
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });
  });
});
