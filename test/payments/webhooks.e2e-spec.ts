import { TicketLockService } from '@app/tickets';
import { startStripeFake, type StripeFake } from '../fakes/stripe-server';
import {
  deliver,
  eventually,
  holdTickets,
  openCheckout,
  orderState,
  outboxOf,
  postWebhook,
  sign,
  startPaymentsApp,
  stripeEvent,
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

describe('payments: the webhook (POST /payments/webhook)', () => {
  let fake: StripeFake;
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    fake = await startStripeFake();
    testApp = await startPaymentsApp('webhooks', stripeSettings(fake));
    admin = await createUser(testApp, { admin: true });
  });
  afterAll(async () => {
    await testApp.close();
    await fake.close();
  });

  /** A held order with an open Checkout Session at the fake. */
  async function checkoutOpened(event: TestEvent, quantity = 1) {
    const held = await holdTickets(testApp, event, quantity);
    const session = await openCheckout(testApp, fake, held);
    return { ...held, session };
  }

  /** The session's JSON once the buyer paid (or started a delayed payment), as Stripe sends it. */
  function completed(sessionId: string, paid = true): object {
    return structuredClone(fake.completeSession(sessionId, { paid }));
  }

  const state = (held: HeldOrder) => orderState(testApp.dataSource, held.orderId);

  async function processedEvents(orderId: string): Promise<string[]> {
    const rows: { type: string }[] = await testApp.dataSource.query(
      `SELECT type FROM processed_payment_events WHERE order_id = $1 ORDER BY processed_at`,
      [orderId],
    );
    return rows.map((row) => row.type);
  }

  /** Free ids the lock store has for the type, against PostgreSQL's count. */
  async function expectLockStoreInLine(event: TestEvent): Promise<void> {
    const pool = { eventId: event.id, ticketTypeId: event.ticketTypes[0].id };
    const inStore = await testApp.app.get(TicketLockService).inspect(pool);
    const view = await testApp.http().get(`/api/v1/events/${event.id}`).expect(200);
    expect(inStore?.size).toBe(view.body.ticketTypes[0].available);
  }

  describe('signatures', () => {
    it('missing, wrong or stale signatures and a tampered body are 400 and change nothing', async () => {
      const event = await createEvent(testApp, admin);
      const held = await checkoutOpened(event);
      const { payload } = stripeEvent('checkout.session.completed', completed(held.session.id));
      const now = Math.floor(Date.now() / 1000);

      const attempts = [
        postWebhook(testApp, payload),
        postWebhook(testApp, payload, 'not a signature'),
        postWebhook(testApp, payload, sign(payload, { secret: 'whsec_someone_else' })),
        postWebhook(testApp, payload, sign(payload, { timestamp: now - 301 })),
        postWebhook(testApp, payload.replace('"paid"', '"unpaid"'), sign(payload)),
      ];
      for (const response of await Promise.all(attempts)) expectProblem(response, 400);
      expect(await state(held)).toMatchObject({ status: 'pending', tickets: ['locked'] });
      expect(await processedEvents(held.orderId)).toEqual([]);

      await postWebhook(testApp, payload, sign(payload)).expect(200, { received: true });
      expect(await state(held)).toMatchObject({ status: 'confirmed', tickets: ['sold'] });
    });
  });

  describe('exactly once', () => {
    it('the same event delivered twice is acknowledged twice and applied once', async () => {
      const event = await createEvent(testApp, admin);
      const held = await checkoutOpened(event, 2);
      const { payload } = stripeEvent('checkout.session.completed', completed(held.session.id));

      await postWebhook(testApp, payload, sign(payload)).expect(200);
      await postWebhook(testApp, payload, sign(payload)).expect(200, { received: true });

      expect(await state(held)).toMatchObject({ status: 'confirmed', tickets: ['sold', 'sold'] });
      expect(await processedEvents(held.orderId)).toEqual(['checkout.session.completed']);
      expect(await outboxOf(testApp.dataSource, held.orderId)).toEqual([
        'ticket_availability:locked',
        'payment_notifications:succeeded',
        'ticket_availability:sold',
      ]);
    });

    it('50 orders paid at once, every event delivered twice in parallel: each applied once', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 1500, quantity: 60 }],
      });
      const buyers = await createBuyers(testApp, 50);
      const bookings = await Promise.all(
        buyers.map((buyer) =>
          book(testApp, buyer, event.id, { ticketTypeId: event.ticketTypes[0].id, quantity: 1 }),
        ),
      );
      const orders = await Promise.all(
        bookings.map(async (booked) => {
          expect(booked.status).toBe(201);
          const held = { orderId: booked.body.order.id, checkoutUrl: booked.body.checkoutUrl };
          const session = await openCheckout(testApp, fake, held as HeldOrder);
          return {
            ...held,
            event: stripeEvent('checkout.session.completed', completed(session.id)),
          };
        }),
      );

      const deliveries = orders.flatMap(({ event: { payload } }) => [
        postWebhook(testApp, payload, sign(payload)),
        postWebhook(testApp, payload, sign(payload)),
      ]);
      for (const response of await Promise.all(deliveries)) expect(response.status).toBe(200);

      const confirmed: { count: number }[] = await testApp.dataSource.query(
        `SELECT count(*)::int AS count FROM orders WHERE event_id = $1 AND status = 'confirmed'`,
        [event.id],
      );
      expect(confirmed[0].count).toBe(50);
      const notifications: { orderId: string; count: number }[] = await testApp.dataSource.query(
        `SELECT payload->>'orderId' AS "orderId", count(*)::int AS count FROM outbox
         WHERE topic = 'payment_notifications' AND payload->>'eventId' = $1
         GROUP BY 1`,
        [event.id],
      );
      expect(notifications).toHaveLength(50);
      expect(notifications.every((row) => row.count === 1)).toBe(true);
      const recorded: { count: number }[] = await testApp.dataSource.query(
        `SELECT count(*)::int AS count FROM processed_payment_events WHERE id = ANY($1)`,
        [orders.map((order) => order.event.id)],
      );
      expect(recorded[0].count).toBe(50);
      const view = await testApp.http().get(`/api/v1/events/${event.id}`).expect(200);
      expect(view.body.ticketTypes[0]).toMatchObject({ sold: 50, locked: 0, available: 10 });
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('other event types and events for unknown orders are acknowledged and ignored', async () => {
      const event = await createEvent(testApp, admin);
      const held = await checkoutOpened(event);
      await deliver(testApp, 'customer.created', { id: 'cus_test_1', object: 'customer' });
      const foreign = { ...completed(held.session.id), metadata: { orderId: 'ord_elsewhere' } };
      await deliver(testApp, 'checkout.session.completed', {
        ...foreign,
        client_reference_id: '00000000-0000-4000-8000-000000000000',
      });
      expect(await state(held)).toMatchObject({ status: 'pending', tickets: ['locked'] });
      expect(await processedEvents(held.orderId)).toEqual([]);
      const recorded: unknown[] = await testApp.dataSource.query(
        `SELECT id FROM processed_payment_events WHERE type = 'customer.created'`,
      );
      expect(recorded).toEqual([]);
    });
  });

  describe('events in any order converge', () => {
    it('expired, then completed: the tickets are still free, so they are taken back and sold', async () => {
      const event = await createEvent(testApp, admin);
      const held = await checkoutOpened(event, 2);
      const paid = completed(held.session.id);
      await deliver(testApp, 'checkout.session.expired', {
        ...held.session,
        status: 'expired',
        url: null,
      });
      expect(await state(held)).toMatchObject({ status: 'expired', tickets: [] });
      await expectLockStoreInLine(event);

      await deliver(testApp, 'checkout.session.completed', paid);
      expect(await state(held)).toMatchObject({ status: 'confirmed', tickets: ['sold', 'sold'] });
      await expectInventoryConsistent(testApp.dataSource, event.id);
      await expectLockStoreInLine(event);
      expect(await outboxOf(testApp.dataSource, held.orderId)).toEqual([
        'ticket_availability:locked',
        'ticket_availability:unlocked',
        'payment_notifications:expired',
        'payment_notifications:succeeded',
        'ticket_availability:sold',
      ]);
    });

    it('completed, then expired: the order stays confirmed', async () => {
      const event = await createEvent(testApp, admin);
      const held = await checkoutOpened(event);
      await deliver(testApp, 'checkout.session.completed', completed(held.session.id));
      await deliver(testApp, 'checkout.session.expired', { ...held.session, status: 'expired' });
      expect(await state(held)).toMatchObject({ status: 'confirmed', tickets: ['sold'] });
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('failed, then completed: the order is confirmed with its tickets; failed after completed does nothing', async () => {
      const event = await createEvent(testApp, admin);
      const held = await checkoutOpened(event);
      const paid = completed(held.session.id);
      const paymentIntent = fake.paymentIntents.get(
        (paid as { payment_intent: string }).payment_intent,
      )!;
      const failure = { ...paymentIntent, metadata: { orderId: held.orderId } };

      await deliver(testApp, 'payment_intent.payment_failed', failure);
      expect(await state(held)).toMatchObject({ status: 'failed', tickets: [] });
      await deliver(testApp, 'checkout.session.completed', paid);
      expect(await state(held)).toMatchObject({ status: 'confirmed', tickets: ['sold'] });
      await deliver(testApp, 'payment_intent.payment_failed', failure);
      expect(await state(held)).toMatchObject({ status: 'confirmed', tickets: ['sold'] });
      expect(await outboxOf(testApp.dataSource, held.orderId)).toEqual([
        'ticket_availability:locked',
        'ticket_availability:unlocked',
        'payment_notifications:failed',
        'payment_notifications:succeeded',
        'ticket_availability:sold',
      ]);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('paid after the expiry job gave the tickets to someone else: refunded through Stripe', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'Last seat', price: 9900, quantity: 1 }],
      });
      const late = await checkoutOpened(event);
      const paid = completed(late.session.id);
      const paymentIntent = (paid as { payment_intent: string }).payment_intent;

      // The hold runs out and the expiry job frees the seat...
      await testApp.dataSource.query(
        `UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1`,
        [late.orderId],
      );
      await eventually('the expiry job', async () =>
        (await state(late)).status === 'expired' ? true : undefined,
      );
      // ...someone else books it, then the first buyer's payment arrives.
      const other = await holdTickets(testApp, event);
      await deliver(testApp, 'checkout.session.completed', paid);

      const refund = await eventually('the refund', () =>
        Promise.resolve([...fake.refunds.values()].find((r) => r.payment_intent === paymentIntent)),
      );
      expect(refund).toMatchObject({ amount: 9900, metadata: { orderId: late.orderId } });
      const refundRequest = fake.requests.find((r) => r.path === '/v1/refunds')!;
      expect(refundRequest.headers['idempotency-key']).toContain(late.orderId);
      await eventually('the order to be refunded', async () =>
        (await state(late)).status === 'refunded' ? true : undefined,
      );
      expect(await state(late)).toMatchObject({ tickets: [], refundDue: false });
      expect(await state(other)).toMatchObject({ status: 'pending', tickets: ['locked'] });
      expect(await outboxOf(testApp.dataSource, late.orderId)).toContain(
        'payment_notifications:refunded',
      );
      expect(fake.requests.filter((r) => r.path === '/v1/refunds')).toHaveLength(1);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });
  });

  describe('delayed payment methods', () => {
    it('completed (unpaid), then async_payment_succeeded: confirmed', async () => {
      const event = await createEvent(testApp, admin);
      const held = await checkoutOpened(event);
      const awaiting = completed(held.session.id, false);
      await deliver(testApp, 'checkout.session.completed', awaiting);
      expect(await state(held)).toMatchObject({
        status: 'pending',
        tickets: ['locked'],
        checkoutSessionClosed: true,
      });
      await deliver(testApp, 'checkout.session.async_payment_succeeded', {
        ...awaiting,
        payment_status: 'paid',
      });
      expect(await state(held)).toMatchObject({ status: 'confirmed', tickets: ['sold'] });
    });

    it('completed (unpaid), then async_payment_failed: failed and the tickets released', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 3 }],
      });
      const held = await checkoutOpened(event, 3);
      const awaiting = completed(held.session.id, false);
      await deliver(testApp, 'checkout.session.completed', awaiting);
      await deliver(testApp, 'checkout.session.async_payment_failed', awaiting);
      expect(await state(held)).toMatchObject({ status: 'failed', tickets: [] });
      await expectLockStoreInLine(event);
      // The released tickets can be booked again at once.
      await holdTickets(testApp, event, 3);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('payment_intent.payment_failed finds the order through the stored payment intent', async () => {
      const event = await createEvent(testApp, admin);
      const held = await checkoutOpened(event);
      const awaiting = completed(held.session.id, false) as { payment_intent: string };
      await deliver(testApp, 'checkout.session.completed', awaiting);
      // No order id in its metadata: only the payment intent id links it to the order.
      await deliver(testApp, 'payment_intent.payment_failed', {
        ...fake.paymentIntents.get(awaiting.payment_intent)!,
        metadata: {},
      });
      expect(await state(held)).toMatchObject({
        status: 'failed',
        tickets: [],
        paymentIntentId: awaiting.payment_intent,
      });
      expect(await outboxOf(testApp.dataSource, held.orderId)).toContain(
        'payment_notifications:failed',
      );
    });
  });
});
