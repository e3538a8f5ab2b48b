import { randomUUID } from 'node:crypto';
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
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

describe('booking (POST /events/{id}/bookings)', () => {
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0' });
    admin = await createUser(testApp, { admin: true });
  });
  afterAll(() => testApp.close());

  async function eventTickets(event: TestEvent): Promise<{ id: string; label: string }[]> {
    const response = await testApp
      .http()
      .get(`/api/v1/events/${event.id}/tickets?pageSize=100`)
      .expect(200);
    return (response.body as { items: { id: string; label: string }[] }).items;
  }

  async function eventView(event: TestEvent) {
    const response = await testApp.http().get(`/api/v1/events/${event.id}`).expect(200);
    return response.body as {
      status: string;
      ticketTypes: {
        id: string;
        quantity: number;
        available: number;
        locked: number;
        sold: number;
      }[];
    };
  }

  describe('under concurrency', () => {
    it('300 buyers racing for 100 tickets: exactly 100 win, each holding what it lists', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 100 }],
      });
      const [type] = event.ticketTypes;
      const buyers = await createBuyers(testApp, 300);

      const answers: Answer[] = await Promise.all(
        buyers.map((buyer) =>
          book(testApp, buyer, event.id, { ticketTypeId: type.id, quantity: 1 }),
        ),
      );

      const created = answers.filter((answer) => answer.status === 201);
      const refused = answers.filter((answer) => answer.status !== 201);
      expect(created).toHaveLength(type.quantity);
      expect(refused).toHaveLength(buyers.length - type.quantity);
      refused.forEach((answer) => expectProblem(answer, 409));
      for (const answer of created) {
        expect(orderOf(answer).tickets).toHaveLength(1);
        expect(answer.body.checkoutUrl).toEqual(expect.stringContaining(orderOf(answer).id));
        // Version 7 (time first), so that holds append to the indexes keyed by order id.
        expect(orderOf(answer).id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab]/);
      }
      const orders = await expectAnswersHoldExactly(testApp.dataSource, event.id, buyers, answers);
      const held = new Set(orders.flatMap((order) => order.tickets.map((ticket) => ticket.id)));
      expect(held.size).toBe(type.quantity);

      const [counts] = (await eventView(event)).ticketTypes;
      expect(counts).toEqual(
        expect.objectContaining({ available: 0, locked: created.length, sold: 0 }),
      );
      expect(counts.available + counts.locked + counts.sold).toBe(type.quantity);
      expect(await freeInLockStore(testApp, { eventId: event.id, ticketTypeId: type.id })).toBe(0);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('buyers of several quantities never get more than there is', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'Floor', price: 4000, quantity: 60 }],
      });
      const [type] = event.ticketTypes;
      const buyers = await createBuyers(testApp, 80);
      const quantities = buyers.map((_, i) => 1 + (i % 4));

      const answers: Answer[] = await Promise.all(
        buyers.map((buyer, i) =>
          book(testApp, buyer, event.id, { ticketTypeId: type.id, quantity: quantities[i] }),
        ),
      );

      answers
        .filter((answer) => answer.status !== 201)
        .forEach((answer) => expectProblem(answer, 409));
      answers.forEach((answer, i) => {
        if (answer.status === 201) expect(orderOf(answer).tickets).toHaveLength(quantities[i]);
      });
      const orders = await expectAnswersHoldExactly(testApp.dataSource, event.id, buyers, answers);
      const held = orders.reduce((sum, order) => sum + order.tickets.length, 0);
      const counts = await ticketCounts(testApp.dataSource, type.id);
      expect(counts).toEqual({ available: type.quantity - held, locked: held, sold: 0 });
      // Demand is 200 tickets: a refusal only happens once fewer than 4 are left.
      expect(counts.available).toBeLessThan(4);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('50 buyers racing for 5 explicit tickets in overlapping sets: all or nothing', async () => {
      const event = await createEvent(testApp, admin, {
        maxTicketsPerOrder: 5,
        ticketTypes: [{ name: 'Front Row', price: 9900, quantity: 20 }],
      });
      const wanted = (await eventTickets(event)).slice(0, 5).map((ticket) => ticket.id);
      const buyers = await createBuyers(testApp, 50);
      // Windows of 2 or 3 neighbouring seats, wrapping around: every seat is contested.
      const requests = buyers.map((_, i) => {
        const size = 2 + (i % 2);
        return Array.from({ length: size }, (__, k) => wanted[(i + k) % wanted.length]);
      });

      const answers: Answer[] = await Promise.all(
        buyers.map((buyer, i) => book(testApp, buyer, event.id, { ticketIds: requests[i] })),
      );

      const created = answers.filter((answer) => answer.status === 201);
      expect(created.length).toBeGreaterThan(0);
      answers
        .filter((answer) => answer.status !== 201)
        .forEach((answer) => expectProblem(answer, 409));
      answers.forEach((answer, i) => {
        if (answer.status !== 201) return;
        expect(
          orderOf(answer)
            .tickets.map((ticket) => ticket.id)
            .sort(),
        ).toEqual([...requests[i]].sort());
      });
      const orders = await expectAnswersHoldExactly(testApp.dataSource, event.id, buyers, answers);
      // Every pending order's items are exactly its request's ids.
      const items: { order_id: string; ids: string[] }[] = await testApp.dataSource.query(
        `SELECT order_id, array_agg(ticket_id::text ORDER BY ticket_id) AS ids
         FROM order_items WHERE order_id = ANY($1::uuid[]) GROUP BY order_id`,
        [orders.map((order) => order.id)],
      );
      const itemsByOrder = new Map(items.map((row) => [row.order_id, row.ids]));
      answers.forEach((answer, i) => {
        if (answer.status === 201)
          expect(itemsByOrder.get(orderOf(answer).id)).toEqual([...requests[i]].sort());
      });
      // Nothing else of the type is held: the other 15 seats are untouched.
      const heldIds = new Set(orders.flatMap((order) => order.tickets.map((ticket) => ticket.id)));
      const counts = await ticketCounts(testApp.dataSource, event.ticketTypes[0].id);
      expect(counts.locked).toBe(heldIds.size);
      expect(counts.available).toBe(event.ticketTypes[0].quantity - heldIds.size);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });
  });

  describe('idempotency', () => {
    let event: TestEvent;
    let typeId: string;

    beforeAll(async () => {
      event = await createEvent(testApp, admin, {
        ticketTypes: [
          { name: 'General Admission', price: 2500, quantity: 50 },
          { name: 'VIP', price: 9000, quantity: 10 },
        ],
      });
      typeId = event.ticketTypes[0].id;
    });

    it('a retry with the same key and body gets the same order, not a second hold', async () => {
      const [buyer] = await createBuyers(testApp, 1);
      const key = randomUUID();
      const before = await ticketCounts(testApp.dataSource, typeId);

      const first = await book(
        testApp,
        buyer,
        event.id,
        { ticketTypeId: typeId, quantity: 2 },
        key,
      );
      const retry = await book(
        testApp,
        buyer,
        event.id,
        { quantity: 2, ticketTypeId: typeId },
        key,
      );

      expect(first.status).toBe(201);
      expect(retry.status).toBe(201);
      expect(orderOf(retry)).toEqual(orderOf(first));
      expect(retry.body.checkoutUrl).toBe(first.body.checkoutUrl);
      const after = await ticketCounts(testApp.dataSource, typeId);
      expect(after.locked).toBe(before.locked + 2);
      const [{ count }] = await testApp.dataSource.query(
        `SELECT count(*)::int AS count FROM orders WHERE user_id = $1`,
        [buyer.id],
      );
      expect(count).toBe(1);
    });

    it('the same key with another body is a conflict and holds nothing', async () => {
      const [buyer] = await createBuyers(testApp, 1);
      const key = randomUUID();
      await book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 1 }, key).expect(201);
      const before = await ticketCounts(testApp.dataSource, typeId);

      const other = await book(
        testApp,
        buyer,
        event.id,
        { ticketTypeId: typeId, quantity: 3 },
        key,
      );

      const problem = expectProblem(other, 409);
      expect(problem.type).toMatch(/idempotency/);
      expect(await ticketCounts(testApp.dataSource, typeId)).toEqual(before);
    });

    it('concurrent retries with one key make one order and all get it', async () => {
      const [buyer] = await createBuyers(testApp, 1);
      const key = randomUUID();
      const before = await ticketCounts(testApp.dataSource, typeId);

      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 2 }, key),
        ),
      );

      expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
      const ids = new Set(answers.map((answer) => orderOf(answer).id));
      expect(ids.size).toBe(1);
      const orders: { id: string }[] = await testApp.dataSource.query(
        `SELECT id FROM orders WHERE user_id = $1`,
        [buyer.id],
      );
      expect(orders.map((order) => order.id)).toEqual([...ids]);
      expect((await ticketCounts(testApp.dataSource, typeId)).locked).toBe(before.locked + 2);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('concurrent retries of explicit ids with one key make one order; none holds twice', async () => {
      const [buyer] = await createBuyers(testApp, 1);
      const key = randomUUID();
      const available = await testApp
        .http()
        .get(
          `/api/v1/events/${event.id}/tickets?status=available&ticketTypeId=${typeId}&pageSize=2`,
        )
        .expect(200);
      const ticketIds = (available.body.items as { id: string }[]).map((ticket) => ticket.id);

      const answers = await Promise.all(
        Array.from({ length: 6 }, () => book(testApp, buyer, event.id, { ticketIds }, key)),
      );

      // A retry that loses the race for the same seats in the lock store may answer 409
      // (holding nothing); every 201 is the one order.
      const created = answers.filter((answer) => answer.status === 201);
      expect(created.length).toBeGreaterThan(0);
      expect(new Set(created.map((answer) => orderOf(answer).id)).size).toBe(1);
      answers
        .filter((answer) => answer.status !== 201)
        .forEach((answer) => expectProblem(answer, 409));
      const orders: { id: string }[] = await testApp.dataSource.query(
        `SELECT id FROM orders WHERE user_id = $1`,
        [buyer.id],
      );
      expect(orders.map((order) => order.id)).toEqual([orderOf(created[0]).id]);
      // Once the dust settles, a retry gets that order.
      const retry = await book(testApp, buyer, event.id, { ticketIds }, key);
      expect(retry.status).toBe(201);
      expect(orderOf(retry).id).toBe(orders[0].id);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('keys are per buyer: another buyer with the same key gets an order of their own', async () => {
      const [first, second] = await createBuyers(testApp, 2);
      const key = randomUUID();
      const a = await book(testApp, first, event.id, { ticketTypeId: typeId, quantity: 1 }, key);
      const b = await book(testApp, second, event.id, { ticketTypeId: typeId, quantity: 1 }, key);
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(orderOf(b).id).not.toBe(orderOf(a).id);
    });

    it('a buyer holds one pending order per event at a time', async () => {
      const [buyer] = await createBuyers(testApp, 1);
      await book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 1 }).expect(201);
      const before = await ticketCounts(testApp.dataSource, typeId);
      const vipBefore = await ticketCounts(testApp.dataSource, event.ticketTypes[1].id);

      const again = await book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 1 });
      const withKey = await book(
        testApp,
        buyer,
        event.id,
        { ticketTypeId: event.ticketTypes[1].id, quantity: 1 },
        randomUUID(),
      );

      expect(expectProblem(again, 409).type).toMatch(/already_holding/);
      expect(expectProblem(withKey, 409).type).toMatch(/already_holding/);
      expect(await ticketCounts(testApp.dataSource, typeId)).toEqual(before);
      expect(await ticketCounts(testApp.dataSource, event.ticketTypes[1].id)).toEqual(vipBefore);
    });

    it('takes keys of 1 to 128 characters', async () => {
      const [buyer, other] = await createBuyers(testApp, 2);
      const tooLong = await book(
        testApp,
        buyer,
        event.id,
        { ticketTypeId: typeId, quantity: 1 },
        'k'.repeat(129),
      );
      expect(expectProblem(tooLong, 400).errors).toEqual([
        expect.objectContaining({ field: 'Idempotency-Key' }),
      ]);
      await book(
        testApp,
        other,
        event.id,
        { ticketTypeId: typeId, quantity: 1 },
        'k'.repeat(128),
      ).expect(201);
      const [{ count }] = await testApp.dataSource.query(
        `SELECT count(*)::int AS count FROM orders WHERE user_id = $1`,
        [buyer.id],
      );
      expect(count).toBe(0);
    });
  });

  describe('refusals hold nothing', () => {
    let event: TestEvent;
    let otherEvent: TestEvent;
    let buyer: TestUser;

    beforeAll(async () => {
      event = await createEvent(testApp, admin, {
        maxTicketsPerOrder: 4,
        ticketTypes: [
          { name: 'General Admission', price: 2500, quantity: 30 },
          { name: 'VIP', price: 9000, quantity: 5 },
        ],
      });
      otherEvent = await createEvent(testApp, admin);
      [buyer] = await createBuyers(testApp, 1);
    });

    function attempt(body: object, eventId = event.id) {
      return book(testApp, buyer, eventId, body);
    }

    it.each([
      ['quantity 0', { quantity: 0 }, 'quantity'],
      ['quantity 51', { quantity: 51 }, 'quantity'],
      ['a fractional quantity', { quantity: 1.5 }, 'quantity'],
      ['a quantity as a string', { quantity: '2' }, 'quantity'],
    ])('rejects %s with 400', async (_case, patch, field) => {
      const answer = await attempt({ ticketTypeId: event.ticketTypes[0].id, ...patch });
      expect(expectProblem(answer, 400).errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field })]),
      );
    });

    it('rejects a body with both a ticket type and ticket ids, or with neither', async () => {
      const [ticket] = await eventTickets(event);
      const both = await attempt({
        ticketTypeId: event.ticketTypes[0].id,
        quantity: 1,
        ticketIds: [ticket.id],
      });
      expect(expectProblem(both, 400).errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'ticketIds' })]),
      );
      const idsAndQuantity = await attempt({ quantity: 1, ticketIds: [ticket.id] });
      expectProblem(idsAndQuantity, 400);
      const neither = await attempt({});
      expect(expectProblem(neither, 400).errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ field: 'ticketTypeId' }),
          expect.objectContaining({ field: 'ticketIds' }),
        ]),
      );
      expectProblem(await attempt({ ticketTypeId: event.ticketTypes[0].id }), 400);
      expectProblem(await attempt({ quantity: 2 }), 400);
    });

    it('rejects unknown fields, malformed ids and bad id lists with 400', async () => {
      const typeId = event.ticketTypes[0].id;
      const [ticket] = await eventTickets(event);
      const unknown = await attempt({ ticketTypeId: typeId, quantity: 1, seat: 'A1' });
      expect(expectProblem(unknown, 400).errors).toEqual([
        expect.objectContaining({ field: 'seat' }),
      ]);
      const cases: object[] = [
        { ticketTypeId: 'not-a-uuid', quantity: 1 },
        { ticketIds: ['not-a-uuid'] },
        { ticketIds: [] },
        { ticketIds: [ticket.id, ticket.id] },
        { ticketIds: ticket.id },
      ];
      for (const body of cases) expectProblem(await attempt(body), 400);
      expectProblem(await attempt({ ticketTypeId: typeId, quantity: 1 }, 'not-a-uuid'), 400);
      // Not JSON at all.
      const garbled = await testApp
        .http()
        .post(`/api/v1/events/${event.id}/bookings`)
        .set('Authorization', `Bearer ${buyer.token}`)
        .set('Content-Type', 'application/json')
        .send('{"quantity": ');
      expectProblem(garbled, 400);
    });

    it('rejects more than maxTicketsPerOrder with 400', async () => {
      const tickets = await eventTickets(event);
      const byQuantity = await attempt({ ticketTypeId: event.ticketTypes[0].id, quantity: 5 });
      expect(expectProblem(byQuantity, 400).detail).toMatch(/4/);
      const byIds = await attempt({ ticketIds: tickets.slice(0, 5).map((ticket) => ticket.id) });
      expectProblem(byIds, 400);
      // The maximum itself is fine.
      const small = await createEvent(testApp, admin, { maxTicketsPerOrder: 4 });
      const atMax = await attempt({ ticketTypeId: small.ticketTypes[0].id, quantity: 4 }, small.id);
      expect(orderOf(atMax).tickets).toHaveLength(4);
    });

    it('answers 404 for an unknown event, ticket type or ticket', async () => {
      const typeId = event.ticketTypes[0].id;
      const [foreignTicket] = await eventTickets(otherEvent);
      const [ownTicket] = await eventTickets(event);
      expectProblem(await attempt({ ticketTypeId: typeId, quantity: 1 }, randomUUID()), 404);
      expectProblem(await attempt({ ticketTypeId: randomUUID(), quantity: 1 }), 404);
      // A ticket type of another event is unknown here.
      expectProblem(
        await attempt({ ticketTypeId: otherEvent.ticketTypes[0].id, quantity: 1 }),
        404,
      );
      expectProblem(await attempt({ ticketIds: [randomUUID()] }), 404);
      expectProblem(await attempt({ ticketIds: [ownTicket.id, foreignTicket.id] }), 404);
    });

    it('answers 401 without a valid token', async () => {
      const anonymous = await testApp
        .http()
        .post(`/api/v1/events/${event.id}/bookings`)
        .send({ ticketTypeId: event.ticketTypes[0].id, quantity: 1 });
      expectProblem(anonymous, 401);
      const forged = await testApp
        .http()
        .post(`/api/v1/events/${event.id}/bookings`)
        .set('Authorization', 'Bearer not.a.token')
        .send({ ticketTypeId: event.ticketTypes[0].id, quantity: 1 });
      expectProblem(forged, 401);
    });

    it('left nothing held by any of the refused bookings', async () => {
      const [{ count }] = await testApp.dataSource.query(
        `SELECT count(*)::int AS count FROM orders WHERE user_id = $1 AND event_id = $2`,
        [buyer.id, event.id],
      );
      expect(count).toBe(0);
      for (const type of (await eventView(event)).ticketTypes) {
        expect(type).toEqual(
          expect.objectContaining({ available: type.quantity, locked: 0, sold: 0 }),
        );
      }
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });
  });

  describe('conflicts with the event state', () => {
    it('refuses a cancelled event with 409 and holds nothing', async () => {
      const event = await createEvent(testApp, admin);
      const [buyer] = await createBuyers(testApp, 1);
      await testApp
        .http()
        .patch(`/api/v1/events/${event.id}`)
        .set('Authorization', `Bearer ${admin.token}`)
        .send({ status: 'cancelled' })
        .expect(200);
      const answer = await book(testApp, buyer, event.id, {
        ticketTypeId: event.ticketTypes[0].id,
        quantity: 1,
      });
      expectProblem(answer, 409);
      const [ticket] = await eventTickets(event);
      expectProblem(await book(testApp, buyer, event.id, { ticketIds: [ticket.id] }), 409);
      expect(await ticketCounts(testApp.dataSource, event.ticketTypes[0].id)).toEqual({
        available: event.ticketTypes[0].quantity,
        locked: 0,
        sold: 0,
      });
    });

    it('refuses an event that has started with 409', async () => {
      const event = await createEvent(testApp, admin);
      const [buyer] = await createBuyers(testApp, 1);
      // The API never accepts a past start; time passing is what makes an event past.
      await testApp.dataSource.query(
        `UPDATE events SET starts_at = now() - interval '1 hour' WHERE id = $1`,
        [event.id],
      );
      const answer = await book(testApp, buyer, event.id, {
        ticketTypeId: event.ticketTypes[0].id,
        quantity: 1,
      });
      expectProblem(answer, 409);
      expect((await ticketCounts(testApp.dataSource, event.ticketTypes[0].id)).locked).toBe(0);
    });

    it('answers a sold-out type, or a held ticket, with 409 and holds nothing', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'Tiny', price: 100, quantity: 3 }],
      });
      const typeId = event.ticketTypes[0].id;
      const [first, second] = await createBuyers(testApp, 2);
      const held = await book(testApp, first, event.id, { ticketTypeId: typeId, quantity: 2 });
      expect(held.status).toBe(201);

      const tooMany = await book(testApp, second, event.id, { ticketTypeId: typeId, quantity: 2 });
      expect(expectProblem(tooMany, 409).detail).toMatch(/1/);
      const taken = await book(testApp, second, event.id, {
        ticketIds: [orderOf(held).tickets[0].id],
      });
      expectProblem(taken, 409);
      expect(await ticketCounts(testApp.dataSource, typeId)).toEqual({
        available: 1,
        locked: 2,
        sold: 0,
      });
      // The one ticket left is still bookable.
      await book(testApp, second, event.id, { ticketTypeId: typeId, quantity: 1 }).expect(201);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });
  });
});
