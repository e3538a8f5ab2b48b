import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { PastEventWaitlistJob, type WaitlistOfferMessage } from '@app/waitlist';
import { startStripeFake, type StripeFake } from '../fakes/stripe-server';
import {
  deliver,
  eventually,
  follow,
  orderState,
  outboxOf,
  startPaymentsApp,
  stripeSettings,
} from '../support/payments-helpers';
import {
  expectAnswersHoldExactly,
  freeInLockStore,
  orderOf,
  ticketCounts,
  type Answer,
} from '../support/booking-checks';
import {
  book,
  createBuyers,
  createEvent,
  expectInventoryConsistent,
  type TestEvent,
} from '../support/booking';
import { createUser, expectProblem, type TestApp, type TestUser } from '../support/test-app';

interface EntryBody {
  id: string;
  eventId: string;
  ticketTypeId: string;
  quantity: number;
  status: string;
  position: number | null;
  offer: { orderId: string; checkoutUrl: string; expiresAt: string } | null;
  createdAt: string;
}

describe('waitlist (POST /events/{id}/waitlist, GET /waitlist, DELETE /waitlist/{id})', () => {
  let fake: StripeFake;
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    fake = await startStripeFake();
    testApp = await startPaymentsApp('waitlist', stripeSettings(fake));
    admin = await createUser(testApp, { admin: true });
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await testApp.close();
    await fake.close();
  });

  const join = (buyer: TestUser, eventId: string, body: object) =>
    testApp
      .http()
      .post(`/api/v1/events/${eventId}/waitlist`)
      .set('Authorization', `Bearer ${buyer.token}`)
      .send(body);

  const leave = (buyer: TestUser, entryId: string) =>
    testApp
      .http()
      .delete(`/api/v1/waitlist/${entryId}`)
      .set('Authorization', `Bearer ${buyer.token}`);

  /** The buyer's entry as GET /waitlist shows it. */
  async function entryOf(buyer: TestUser, entryId: string): Promise<EntryBody> {
    const listed = await testApp
      .http()
      .get('/api/v1/waitlist')
      .set('Authorization', `Bearer ${buyer.token}`)
      .expect(200);
    const entry = (listed.body.items as EntryBody[]).find((item) => item.id === entryId);
    if (!entry) throw new Error(`entry ${entryId} not listed`);
    return entry;
  }

  /** Ends the hold as its expiry would: its time is moved into the past, the job ends it. */
  async function expire(orderId: string): Promise<void> {
    await testApp.dataSource.query(
      `UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [orderId],
    );
    await eventually(`order ${orderId} expired`, async () =>
      (await orderState(testApp.dataSource, orderId)).status === 'expired' ? true : undefined,
    );
  }

  async function hold(buyer: TestUser, event: TestEvent, quantity: number) {
    const booked = await book(testApp, buyer, event.id, {
      ticketTypeId: event.ticketTypes[0].id,
      quantity,
    }).expect(201);
    return orderOf(booked);
  }

  const ticketsOf = async (orderId: string): Promise<string[]> => {
    const rows: { ticket_id: string }[] = await testApp.dataSource.query(
      `SELECT ticket_id FROM order_items WHERE order_id = $1 ORDER BY ticket_id`,
      [orderId],
    );
    return rows.map((row) => row.ticket_id);
  };

  const pool = (event: TestEvent) => ({ eventId: event.id, ticketTypeId: event.ticketTypes[0].id });

  describe('joining and leaving', () => {
    let event: TestEvent;
    let buyer: TestUser;
    let other: TestUser;

    beforeAll(async () => {
      event = await createEvent(testApp, admin, {
        maxTicketsPerOrder: 4,
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 3 }],
      });
      [buyer, other] = await createBuyers(testApp, 2);
    });

    it('is refused (409) while that many tickets are available', async () => {
      const body = { ticketTypeId: event.ticketTypes[0].id, quantity: 3 };
      const refused = expectProblem(await join(buyer, event.id, body), 409);
      expect(refused.type).toBe('urn:tickets:problem:waitlist.tickets_available');
    });

    it('answers 400 for every invalid field, and for more than an order may hold', async () => {
      const type = event.ticketTypes[0].id;
      for (const body of [
        {},
        { ticketTypeId: 'nope', quantity: 1 },
        { ticketTypeId: type, quantity: 0 },
        { ticketTypeId: type, quantity: 51 },
        { ticketTypeId: type, quantity: 1.5 },
        { ticketTypeId: type, quantity: '2' },
        { ticketTypeId: type, quantity: 1, extra: true },
      ]) {
        expectProblem(await join(buyer, event.id, body), 400);
      }
      const problem = expectProblem(await join(buyer, event.id, {}), 400);
      const fields = [
        ...new Set((problem.errors as { field: string }[]).map((e) => e.field)),
      ].sort();
      expect(fields).toEqual(['quantity', 'ticketTypeId']);
      expectProblem(await join(buyer, event.id, { ticketTypeId: type, quantity: 5 }), 400);
      expectProblem(await join(buyer, 'not-a-uuid', { ticketTypeId: type, quantity: 1 }), 400);
    });

    it('answers 401 without a token and 404 for an unknown event or ticket type', async () => {
      const body = { ticketTypeId: event.ticketTypes[0].id, quantity: 4 };
      expectProblem(
        await testApp.http().post(`/api/v1/events/${event.id}/waitlist`).send(body),
        401,
      );
      expectProblem(await testApp.http().get('/api/v1/waitlist'), 401);
      expectProblem(await join(buyer, randomUUID(), body), 404);
      const elsewhere = await createEvent(testApp, admin);
      expectProblem(
        await join(buyer, event.id, { ticketTypeId: elsewhere.ticketTypes[0].id, quantity: 4 }),
        404,
      );
    });

    it('keeps one open entry per user and ticket type (409), lists it, and leaves it (204)', async () => {
      const body = { ticketTypeId: event.ticketTypes[0].id, quantity: 4 };
      const joined = await join(buyer, event.id, body).expect(201);
      expect(joined.body).toEqual({
        id: expect.any(String),
        eventId: event.id,
        ticketTypeId: event.ticketTypes[0].id,
        quantity: 4,
        status: 'waiting',
        position: 1,
        offer: null,
        createdAt: expect.any(String),
      });
      const again = expectProblem(await join(buyer, event.id, body), 409);
      expect(again.type).toBe('urn:tickets:problem:waitlist.already_waiting');

      const listed = await testApp
        .http()
        .get('/api/v1/waitlist?page=1&pageSize=10')
        .set('Authorization', `Bearer ${buyer.token}`)
        .expect(200);
      expect(listed.body).toEqual({ items: [joined.body], page: 1, pageSize: 10, total: 1 });
      expectProblem(
        await testApp
          .http()
          .get('/api/v1/waitlist?pageSize=101')
          .set('Authorization', `Bearer ${buyer.token}`),
        400,
      );

      // Someone else's entry does not exist for them.
      expectProblem(await leave(other, joined.body.id), 404);
      expectProblem(await leave(buyer, randomUUID()), 404);
      expectProblem(await leave(buyer, 'nope'), 400);
      await leave(buyer, joined.body.id).expect(204);
      await leave(buyer, joined.body.id).expect(204);
      expect((await entryOf(buyer, joined.body.id)).status).toBe('left');
      // Leaving opens the way to a new entry.
      await join(buyer, event.id, body).expect(201);
    });

    it('is refused (409) for a cancelled or past event', async () => {
      const past = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 1 }],
      });
      const body = { ticketTypeId: past.ticketTypes[0].id, quantity: 2 };
      // A waiting entry of an event that has started is closed.
      const [waiter] = await createBuyers(testApp, 1);
      await book(testApp, waiter, past.id, {
        ticketTypeId: past.ticketTypes[0].id,
        quantity: 1,
      }).expect(201);
      const waiting = await join(other, past.id, body).expect(201);
      await testApp.dataSource.query(
        `UPDATE events SET starts_at = now() - interval '1 hour' WHERE id = $1`,
        [past.id],
      );
      expect(await testApp.app.get(PastEventWaitlistJob).run()).toBeGreaterThanOrEqual(1);
      expect(await entryOf(other, waiting.body.id)).toMatchObject({
        status: 'expired',
        position: null,
      });
      expect(expectProblem(await join(other, past.id, body), 409).type).toBe(
        'urn:tickets:problem:waitlist.event_closed',
      );

      const cancelled = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 1 }],
      });
      await testApp
        .http()
        .patch(`/api/v1/events/${cancelled.id}`)
        .set('Authorization', `Bearer ${admin.token}`)
        .send({ status: 'cancelled' })
        .expect(200);
      expectProblem(
        await join(other, cancelled.id, { ticketTypeId: cancelled.ticketTypes[0].id, quantity: 2 }),
        409,
      );
    });
  });

  it('offers released tickets first come first served, moves unpaid offers on, and sells paid ones', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 10 }],
    });
    const [holderA, holderB, holderC] = await createBuyers(testApp, 3);
    const orderA = await hold(holderA, event, 2);
    const orderB = await hold(holderB, event, 1);
    await hold(holderC, event, 7);

    // 50 in line: the first wants 3, the second 2, the rest 1 each.
    const waiting = await createBuyers(testApp, 50);
    const entries: EntryBody[] = [];
    for (const [i, buyer] of waiting.entries()) {
      const quantity = i === 0 ? 3 : i === 1 ? 2 : 1;
      const joined = await join(buyer, event.id, {
        ticketTypeId: event.ticketTypes[0].id,
        quantity,
      }).expect(201);
      entries.push(joined.body as EntryBody);
    }
    const positions = async () =>
      Promise.all(waiting.map(async (buyer, i) => (await entryOf(buyer, entries[i].id)).position));
    expect(await positions()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));

    // A's two tickets: the first entry wants three, so the second gets both.
    await expire(orderA.id);
    const offered = await entryOf(waiting[1], entries[1].id);
    expect(offered).toMatchObject({ status: 'offered', position: null });
    const offer = offered.offer!;
    expect(await ticketsOf(offer.orderId)).toEqual(orderA.tickets.map((t) => t.id).sort());
    const offerMinutes = (Date.parse(offer.expiresAt) - Date.now()) / 60_000;
    expect(offerMinutes).toBeGreaterThan(28);
    expect(offerMinutes).toBeLessThanOrEqual(30);
    expect(await outboxOf(testApp.dataSource, offer.orderId)).toEqual([
      'ticket_availability:locked',
      'payment_notifications:waitlist_offer',
    ]);
    const offerOrder = await testApp
      .http()
      .get(`/api/v1/orders/${offer.orderId}`)
      .set('Authorization', `Bearer ${waiting[1].token}`)
      .expect(200);
    expect(offerOrder.body).toMatchObject({ status: 'pending', quantity: 2, totalAmount: 5000 });
    // Nothing went back to the public.
    expect(await ticketCounts(testApp.dataSource, event.ticketTypes[0].id)).toEqual({
      available: 0,
      locked: 10,
      sold: 0,
    });
    expect(await freeInLockStore(testApp, pool(event))).not.toBeGreaterThan(0);
    expect(await positions()).toEqual([1, null, ...Array.from({ length: 48 }, (_, i) => i + 2)]);

    // B's one ticket: to the third in line (the first still wants three).
    await expire(orderB.id);
    expect((await entryOf(waiting[2], entries[2].id)).status).toBe('offered');

    // The second never pays: the offer expires and its two tickets go to the next two.
    await expire(offer.orderId);
    expect((await entryOf(waiting[1], entries[1].id)).status).toBe('expired');
    const next = await Promise.all([3, 4].map((i) => entryOf(waiting[i], entries[i].id)));
    expect(next.map((entry) => entry.status)).toEqual(['offered', 'offered']);
    const passedOn = (
      await Promise.all(next.map((entry) => ticketsOf(entry.offer!.orderId)))
    ).flat();
    expect(passedOn.sort()).toEqual(orderA.tickets.map((t) => t.id).sort());
    expect((await entryOf(waiting[0], entries[0].id)).position).toBe(1);
    expect((await entryOf(waiting[5], entries[5].id)).position).toBe(2);

    // The third pays its offer: confirmed, entry fulfilled.
    const third = await entryOf(waiting[2], entries[2].id);
    const redirect = await follow(testApp, third.offer!.checkoutUrl).expect(303);
    const session = [...fake.sessions.values()].find((s) => s.url === redirect.headers.location)!;
    const paid = fake.completeSession(session.id);
    await deliver(testApp, 'checkout.session.completed', structuredClone(paid));
    expect((await orderState(testApp.dataSource, third.offer!.orderId)).status).toBe('confirmed');
    expect(await entryOf(waiting[2], entries[2].id)).toMatchObject({
      status: 'fulfilled',
      offer: null,
    });

    // The fourth leaves with its offer open: its order is cancelled, the next one offered.
    const fourth = await entryOf(waiting[3], entries[3].id);
    await leave(waiting[3], entries[3].id).expect(204);
    expect((await entryOf(waiting[3], entries[3].id)).status).toBe('left');
    expect((await orderState(testApp.dataSource, fourth.offer!.orderId)).status).toBe('cancelled');
    const fifth = await entryOf(waiting[5], entries[5].id);
    expect(fifth.status).toBe('offered');
    expect(await ticketsOf(fifth.offer!.orderId)).toEqual(await ticketsOf(fourth.offer!.orderId));

    // A grown type serves the line before the public: three new tickets for the first.
    await testApp
      .http()
      .patch(`/api/v1/events/${event.id}/ticket-types/${event.ticketTypes[0].id}`)
      .set('Authorization', `Bearer ${admin.token}`)
      .send({ quantity: 13 })
      .expect(200);
    const first = await entryOf(waiting[0], entries[0].id);
    expect(first.status).toBe('offered');
    expect(await ticketsOf(first.offer!.orderId)).toHaveLength(3);
    expect(await freeInLockStore(testApp, pool(event))).not.toBeGreaterThan(0);
    expect((await entryOf(waiting[6], entries[6].id)).position).toBe(1);

    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it('a user already holding a pending order for the event keeps their place; the next is served', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [
        { name: 'General Admission', price: 2500, quantity: 1 },
        { name: 'Balcony', price: 1000, quantity: 1 },
      ],
    });
    const [holder, busy, patient] = await createBuyers(testApp, 3);
    const held = await hold(holder, event, 1);
    const busyEntry = await join(busy, event.id, {
      ticketTypeId: event.ticketTypes[0].id,
      quantity: 1,
    }).expect(201);
    const patientEntry = await join(patient, event.id, {
      ticketTypeId: event.ticketTypes[0].id,
      quantity: 1,
    }).expect(201);
    // busy holds the balcony ticket of the same event: one pending order per buyer and event.
    await book(testApp, busy, event.id, {
      ticketTypeId: event.ticketTypes[1].id,
      quantity: 1,
    }).expect(201);

    await expire(held.id);
    expect(await entryOf(busy, busyEntry.body.id)).toMatchObject({
      status: 'waiting',
      position: 1,
    });
    expect((await entryOf(patient, patientEntry.body.id)).status).toBe('offered');
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it("tells the user's authenticated sockets about an offer (waitlist_offer)", async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 1 }],
    });
    const [holder, waiter] = await createBuyers(testApp, 2);
    const held = await hold(holder, event, 1);
    const entry = await join(waiter, event.id, {
      ticketTypeId: event.ticketTypes[0].id,
      quantity: 1,
    }).expect(201);
    const received: WaitlistOfferMessage[] = [];
    const connect = (token: string) =>
      io(`${testApp.url}/availability`, {
        transports: ['websocket'],
        reconnection: false,
        auth: { token },
      });
    const mine = connect(waiter.token);
    const theirs = connect(holder.token);
    const others: unknown[] = [];
    mine.on('waitlist_offer', (message: WaitlistOfferMessage) => received.push(message));
    theirs.on('waitlist_offer', (message: unknown) => others.push(message));
    try {
      await Promise.all(
        [mine, theirs].map(
          (socket) =>
            new Promise<void>((resolve, reject) => {
              socket.once('connect', () => resolve());
              socket.once('connect_error', reject);
            }),
        ),
      );
      await expire(held.id);
      const offer = (await entryOf(waiter, entry.body.id)).offer!;
      const [message] = await eventually('the socket message', async () =>
        Promise.resolve(received.length > 0 ? received : undefined),
      );
      expect(message).toEqual({
        entryId: entry.body.id,
        eventId: event.id,
        ticketTypeId: event.ticketTypes[0].id,
        quantity: 1,
        orderId: offer.orderId,
        checkoutUrl: offer.checkoutUrl,
        expiresAt: offer.expiresAt,
      });
      expect(others).toEqual([]);
    } finally {
      mine.disconnect();
      theirs.disconnect();
    }
  });

  it('100 public buyers racing a release never get the offered tickets', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 6 }],
    });
    const [releasing, keeping, waiter] = await createBuyers(testApp, 3);
    const released = await hold(releasing, event, 4);
    await hold(keeping, event, 2);
    const entry = await join(waiter, event.id, {
      ticketTypeId: event.ticketTypes[0].id,
      quantity: 2,
    }).expect(201);

    const buyers = await createBuyers(testApp, 100);
    const bookOne = (buyer: TestUser) =>
      book(testApp, buyer, event.id, { ticketTypeId: event.ticketTypes[0].id, quantity: 1 });
    const answers = (await Promise.all([
      ...buyers.slice(0, 50).map(bookOne),
      testApp
        .http()
        .post(`/api/v1/orders/${released.id}/cancel`)
        .set('Authorization', `Bearer ${releasing.token}`)
        .expect(200)
        .then(() => null),
      ...buyers.slice(50).map(bookOne),
    ])) as (Answer | null)[];
    const bookings = answers.filter((answer): answer is Answer => answer !== null);
    for (const answer of bookings) expect([201, 409]).toContain(answer.status);

    const offer = (await entryOf(waiter, entry.body.id)).offer!;
    const offeredIds = await ticketsOf(offer.orderId);
    expect(offeredIds).toHaveLength(2);
    const booked = await expectAnswersHoldExactly(testApp.dataSource, event.id, buyers, bookings);
    expect(booked.length).toBeLessThanOrEqual(2);
    const sold = booked.flatMap((order) => order.tickets.map((ticket) => ticket.id));
    expect(sold.filter((id) => offeredIds.includes(id))).toEqual([]);
    await expectInventoryConsistent(testApp.dataSource, event.id);
    // The lock store holds exactly what PostgreSQL has available, never an offered ticket.
    const counts = await ticketCounts(testApp.dataSource, event.ticketTypes[0].id);
    expect(counts.locked).toBe(2 + 2 + booked.length);
    expect((await freeInLockStore(testApp, pool(event))) ?? 0).toBe(counts.available);
  });
});
