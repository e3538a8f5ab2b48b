import { OwedRefundJob } from '@app/payments';
import { startStripeFake, type StripeFake } from '../fakes/stripe-server';
import {
  deliver,
  eventually,
  holdTickets,
  openCheckout,
  orderState,
  outboxOf,
  startPaymentsApp,
  stripeSettings,
  type HeldOrder,
} from '../support/payments-helpers';
import {
  book,
  createBuyers,
  createEvent,
  expectInventoryConsistent,
  type TestEvent,
} from '../support/booking';
import { createUser, expectProblem, type TestApp, type TestUser } from '../support/test-app';

describe('event cancellation (PATCH /events/{id} { status: cancelled })', () => {
  let fake: StripeFake;
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    fake = await startStripeFake();
    testApp = await startPaymentsApp('cancellation', stripeSettings(fake));
    admin = await createUser(testApp, { admin: true });
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await testApp.close();
    await fake.close();
  });

  const patchEvent = (eventId: string, body: object) =>
    testApp
      .http()
      .patch(`/api/v1/events/${eventId}`)
      .set('Authorization', `Bearer ${admin.token}`)
      .send(body);

  /** Paid through the fake: the session completed and its webhook delivered. */
  async function pay(held: HeldOrder) {
    const session = await openCheckout(testApp, fake, held);
    const paid = fake.completeSession(session.id);
    await deliver(testApp, 'checkout.session.completed', structuredClone(paid));
    return paid;
  }

  const refundedAtStripe = (orderId: string) =>
    [...fake.refunds.values()].find((refund) => refund.metadata.orderId === orderId);

  const entryStatus = async (entryId: string): Promise<string> => {
    const [row]: { status: string }[] = await testApp.dataSource.query(
      `SELECT status FROM waitlist_entries WHERE id = $1`,
      [entryId],
    );
    return row.status;
  };

  const notifications = async (eventId: string): Promise<string[]> => {
    const rows: { orderId: string }[] = await testApp.dataSource.query(
      `SELECT payload->>'orderId' AS "orderId" FROM outbox
       WHERE topic = 'payment_notifications' AND payload->>'type' = 'event_cancelled'
         AND payload->>'eventId' = $1 ORDER BY 1`,
      [eventId],
    );
    return rows.map((row) => row.orderId);
  };

  it('a cancellation racing 600 bookings leaves no order of the event pending', async () => {
    // Rounds, since a lost race needs a hold whose statement began before the cancellation
    // committed and committed after it looked for pending orders.
    for (let round = 0; round < 2; round++) {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 1000 }],
      });
      const typeId = event.ticketTypes[0].id;
      const buyers = await createBuyers(testApp, 600);
      // Sent now (a supertest request starts when it is awaited or then-ed).
      const bookings = Promise.all(
        buyers.map((buyer) =>
          book(testApp, buyer, event.id, { ticketTypeId: typeId, quantity: 1 }).then((a) => a),
        ),
      );
      // Cancelled while the first holds are being committed.
      await eventually('the first holds', async () => {
        const [{ count }]: { count: number }[] = await testApp.dataSource.query(
          `SELECT count(*)::int AS count FROM orders WHERE event_id = $1`,
          [event.id],
        );
        return count >= 50 ? true : undefined;
      });
      const [cancelled, answers] = await Promise.all([
        patchEvent(event.id, { status: 'cancelled' }).then((a) => a),
        bookings,
      ]);

      expect(cancelled.status).toBe(200);
      answers
        .filter((answer) => answer.status !== 201)
        .forEach((answer) => expectProblem(answer, 409));
      const statuses: { status: string }[] = await testApp.dataSource.query(
        `SELECT DISTINCT status FROM orders WHERE event_id = $1`,
        [event.id],
      );
      expect(statuses.map((row) => row.status)).toEqual(['cancelled']);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    }
  });

  it('ends holds, refunds paid orders at Stripe, closes the waitlist and notifies each buyer', async () => {
    const event: TestEvent = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 4 }],
    });
    const confirmed = await holdTickets(testApp, event, 2);
    await pay(confirmed);
    expect((await orderState(testApp.dataSource, confirmed.orderId)).status).toBe('confirmed');
    const pending = await holdTickets(testApp, event, 1);
    const expiring = await holdTickets(testApp, event, 1);

    // Sold out: two wait; the expiring hold's ticket is offered to the first.
    const [first, second] = await createBuyers(testApp, 2);
    const join = (buyer: TestUser) =>
      testApp
        .http()
        .post(`/api/v1/events/${event.id}/waitlist`)
        .set('Authorization', `Bearer ${buyer.token}`)
        .send({ ticketTypeId: event.ticketTypes[0].id, quantity: 1 })
        .expect(201);
    const firstEntry = (await join(first)).body as { id: string };
    const secondEntry = (await join(second)).body as { id: string };
    await testApp.dataSource.query(
      `UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [expiring.orderId],
    );
    const offerOrderId = await eventually('the offer', async () => {
      const [row]: { order_id: string | null; status: string }[] = await testApp.dataSource.query(
        `SELECT order_id, status FROM waitlist_entries WHERE id = $1`,
        [firstEntry.id],
      );
      return row.status === 'offered' ? row.order_id! : undefined;
    });

    const cancelled = await patchEvent(event.id, { status: 'cancelled' }).expect(200);
    expect(cancelled.body.status).toBe('cancelled');

    expect((await orderState(testApp.dataSource, pending.orderId)).status).toBe('cancelled');
    expect((await orderState(testApp.dataSource, offerOrderId)).status).toBe('cancelled');
    expect(await entryStatus(firstEntry.id)).toBe('expired');
    expect(await entryStatus(secondEntry.id)).toBe('expired');
    // One notification per order the cancellation ended or owes a refund for.
    expect(await notifications(event.id)).toEqual(
      [confirmed.orderId, pending.orderId, offerOrderId].sort(),
    );

    // Refunded through the provider by the owed refunds job, then its tickets released.
    await eventually('the refund', async () =>
      (await orderState(testApp.dataSource, confirmed.orderId)).status === 'refunded'
        ? true
        : undefined,
    );
    const paymentIntentId = (await orderState(testApp.dataSource, confirmed.orderId))
      .paymentIntentId;
    expect(refundedAtStripe(confirmed.orderId)).toMatchObject({
      amount: 5000,
      payment_intent: paymentIntentId,
    });
    expect(await outboxOf(testApp.dataSource, confirmed.orderId)).toContain(
      'payment_notifications:refunded',
    );
    await expectInventoryConsistent(testApp.dataSource, event.id);

    // Nothing is sold again: booking and joining are refused, and it cannot be reopened.
    const [late] = await createBuyers(testApp, 1);
    expectProblem(
      await testApp
        .http()
        .post(`/api/v1/events/${event.id}/bookings`)
        .set('Authorization', `Bearer ${late.token}`)
        .send({ ticketTypeId: event.ticketTypes[0].id, quantity: 1 }),
      409,
    );
    expectProblem(await patchEvent(event.id, { status: 'on_sale' }), 409);
    await patchEvent(event.id, { status: 'cancelled' }).expect(200);
    expect(await notifications(event.id)).toHaveLength(3);
  });

  describe('a payment for a hold of a cancelled event is refunded, never confirmed (issue 10, hole 7)', () => {
    it('a hold still pending (booked as the event was being cancelled)', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 4000, quantity: 5 }],
      });
      const held = await holdTickets(testApp, event, 2);
      const session = await openCheckout(testApp, fake, held);
      // The hold committed after the cancellation had ended the event's holds.
      await testApp.dataSource.query(`UPDATE events SET status = 'cancelled' WHERE id = $1`, [
        event.id,
      ]);

      const paid = fake.completeSession(session.id);
      await deliver(testApp, 'checkout.session.completed', structuredClone(paid));

      const state = await orderState(testApp.dataSource, held.orderId);
      expect(state.status).not.toBe('confirmed');
      expect(state.tickets).not.toContain('sold');
      await eventually('the refund', () => Promise.resolve(refundedAtStripe(held.orderId)));
      await eventually('refunded', async () =>
        (await orderState(testApp.dataSource, held.orderId)).status === 'refunded'
          ? true
          : undefined,
      );
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('a hold the cancellation ended, paid afterwards (its tickets still free)', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 4000, quantity: 5 }],
      });
      const held = await holdTickets(testApp, event, 2);
      const session = await openCheckout(testApp, fake, held);
      await patchEvent(event.id, { status: 'cancelled' }).expect(200);
      expect((await orderState(testApp.dataSource, held.orderId)).status).toBe('cancelled');

      const paid = fake.completeSession(session.id);
      await deliver(testApp, 'checkout.session.completed', structuredClone(paid));

      expect((await orderState(testApp.dataSource, held.orderId)).status).toBe('cancelled');
      await testApp.app.get(OwedRefundJob).run();
      await eventually('refunded', async () =>
        (await orderState(testApp.dataSource, held.orderId)).status === 'refunded'
          ? true
          : undefined,
      );
      expect(refundedAtStripe(held.orderId)).toMatchObject({ amount: 8000 });
      const [{ sold }]: { sold: number }[] = await testApp.dataSource.query(
        `SELECT count(*)::int AS sold FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
         WHERE tt.event_id = $1 AND t.status = 'sold'`,
        [event.id],
      );
      expect(sold).toBe(0);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });
  });

  it('a payment racing the cancellation ends confirmed-then-refunded or refunded, never kept', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 1000, quantity: 40 }],
    });
    const held: HeldOrder[] = [];
    for (let i = 0; i < 20; i += 1) held.push(await holdTickets(testApp, event, 1));
    const sessions = await Promise.all(held.map((order) => openCheckout(testApp, fake, order)));
    const paid = sessions.map((session) => fake.completeSession(session.id));

    await Promise.all([
      ...paid.map((session) =>
        deliver(testApp, 'checkout.session.completed', structuredClone(session)),
      ),
      patchEvent(event.id, { status: 'cancelled' }).expect(200),
    ]);

    // Every paid order owes (or got) its refund; none stays confirmed.
    await eventually(
      'every payment refunded',
      async () => {
        const states = await Promise.all(
          held.map((order) => orderState(testApp.dataSource, order.orderId)),
        );
        return states.every((state) => state.status === 'refunded') ? true : undefined;
      },
      30_000,
    );
    expect(held.every((order) => refundedAtStripe(order.orderId))).toBe(true);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });
});
