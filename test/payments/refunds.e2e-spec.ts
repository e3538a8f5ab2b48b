import { TicketLockService } from '@app/tickets';
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
import { createEvent, expectInventoryConsistent, type TestEvent } from '../support/booking';
import { createUser, expectProblem, type TestApp, type TestUser } from '../support/test-app';

const HOUR_MS = 3600_000;

describe('payments: cancelling and refunding (POST /orders/{id}/cancel, charge.refunded)', () => {
  let fake: StripeFake;
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    fake = await startStripeFake();
    testApp = await startPaymentsApp('refunds', stripeSettings(fake));
    admin = await createUser(testApp, { admin: true });
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await testApp.close();
    await fake.close();
  });

  /** An event `startsInHours` away (the refund cutoff is the default 24 hours). */
  const eventStartingIn = (startsInHours: number, quantity = 10) =>
    createEvent(testApp, admin, {
      startsAt: new Date(Date.now() + startsInHours * HOUR_MS).toISOString(),
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity }],
    });

  /** A confirmed order: paid through the fake, confirmed by its webhook. */
  async function purchase(event: TestEvent, quantity = 2) {
    const held = await holdTickets(testApp, event, quantity);
    const session = await openCheckout(testApp, fake, held);
    const paid = fake.completeSession(session.id);
    await deliver(testApp, 'checkout.session.completed', structuredClone(paid));
    const paymentIntent = fake.paymentIntents.get(paid.payment_intent!)!;
    return { ...held, paymentIntent };
  }

  const cancel = (held: HeldOrder, token = held.buyer.token) =>
    testApp
      .http()
      .post(`/api/v1/orders/${held.orderId}/cancel`)
      .set('Authorization', `Bearer ${token}`);

  const refundRequests = () => fake.requests.filter((r) => r.path === '/v1/refunds');

  /** charge.refunded as Stripe sends it once the whole payment went back. */
  function refundedCharge(paymentIntent: { id: string; amount: number }, refunded = true) {
    return {
      id: `ch_for_${paymentIntent.id}`,
      object: 'charge',
      amount: paymentIntent.amount,
      amount_refunded: refunded ? paymentIntent.amount : 100,
      refunded,
      payment_intent: paymentIntent.id,
      metadata: {},
    };
  }

  async function expectLockStoreInLine(event: TestEvent): Promise<void> {
    const pool = { eventId: event.id, ticketTypeId: event.ticketTypes[0].id };
    const inStore = await testApp.app.get(TicketLockService).inspect(pool);
    const view = await testApp.http().get(`/api/v1/events/${event.id}`).expect(200);
    expect(inStore?.size).toBe(view.body.ticketTypes[0].available);
  }

  it('a pending order is cancelled at once and its tickets released, without Stripe', async () => {
    const event = await eventStartingIn(48);
    const held = await holdTickets(testApp, event, 2);
    const response = await cancel(held).expect(200);
    expect(response.body).toMatchObject({
      id: held.orderId,
      status: 'cancelled',
      checkoutUrl: null,
    });
    expect(await orderState(testApp.dataSource, held.orderId)).toMatchObject({ tickets: [] });
    expect(fake.requests).toEqual([]);
    await expectLockStoreInLine(event);
  });

  it('a pending order with a Checkout Session: cancelled, and the session expired at Stripe', async () => {
    const event = await eventStartingIn(48);
    const held = await holdTickets(testApp, event);
    const session = await openCheckout(testApp, fake, held);
    await cancel(held).expect(200);

    await eventually('the session to be closed', async () =>
      (await orderState(testApp.dataSource, held.orderId)).checkoutSessionClosed ? true : undefined,
    );
    expect(fake.sessions.get(session.id)?.status).toBe('expired');
    expect((await orderState(testApp.dataSource, held.orderId)).status).toBe('cancelled');
  });

  it('a confirmed order before the cutoff: refunded through Stripe once, then its tickets released', async () => {
    const event = await eventStartingIn(48, 2);
    const order = await purchase(event);

    const response = await cancel(order).expect(200);
    expect(response.body).toMatchObject({ id: order.orderId, status: 'refunded' });
    expect(refundRequests()).toHaveLength(1);
    const [request] = refundRequests();
    expect(request.body).toMatchObject({ payment_intent: order.paymentIntent.id });
    expect(request.headers['idempotency-key']).toContain(order.orderId);
    expect([...fake.refunds.values()]).toEqual([
      expect.objectContaining({ amount: 2 * 2500, payment_intent: order.paymentIntent.id }),
    ]);
    expect(await orderState(testApp.dataSource, order.orderId)).toMatchObject({
      status: 'refunded',
      tickets: [],
    });
    await expectLockStoreInLine(event);

    // Someone else takes the freed tickets; Stripe's charge.refunded then changes nothing.
    const next = await holdTickets(testApp, event, 2);
    await deliver(testApp, 'charge.refunded', refundedCharge(order.paymentIntent));
    expect(await orderState(testApp.dataSource, next.orderId)).toMatchObject({
      status: 'pending',
      tickets: ['locked', 'locked'],
    });
    expect(
      (await outboxOf(testApp.dataSource, order.orderId)).filter((e) => e.endsWith(':refunded')),
    ).toEqual(['payment_notifications:refunded']);
    expectProblem(await cancel(order), 409);
    expect(refundRequests()).toHaveLength(1);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it('a confirmed order after the cutoff is 409 and stays confirmed', async () => {
    const event = await eventStartingIn(2);
    const order = await purchase(event);
    expectProblem(await cancel(order), 409);
    expect(refundRequests()).toEqual([]);
    expect(await orderState(testApp.dataSource, order.orderId)).toMatchObject({
      status: 'confirmed',
      tickets: ['sold', 'sold'],
    });
  });

  it('a refund Stripe refuses is 502 and the order stays confirmed; a retry refunds it', async () => {
    const event = await eventStartingIn(48);
    const order = await purchase(event);
    fake.failNext(1, 'card_error');
    expectProblem(await cancel(order), 502);
    expect(await orderState(testApp.dataSource, order.orderId)).toMatchObject({
      status: 'confirmed',
      tickets: ['sold', 'sold'],
    });
    await cancel(order).expect(200);
    expect(fake.refunds.size).toBe(1);
  });

  it('a refund Stripe fails on its side (500) is 503 with Retry-After; the order stays confirmed', async () => {
    const event = await eventStartingIn(48);
    const order = await purchase(event);
    fake.failNext(1, 'server_error');
    const response = await cancel(order);
    expectProblem(response, 503);
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    expect(await orderState(testApp.dataSource, order.orderId)).toMatchObject({
      status: 'confirmed',
      tickets: ['sold', 'sold'],
    });
    await cancel(order).expect(200);
    expect(fake.refunds.size).toBe(1);
  });

  it('another buyer cannot cancel the order (404); an admin can', async () => {
    const event = await eventStartingIn(48);
    const order = await purchase(event);
    const stranger = await holdTickets(testApp, event);
    expectProblem(await cancel(order, stranger.buyer.token), 404);
    expect(refundRequests()).toEqual([]);
    await cancel(order, admin.token).expect(200);
    expect((await orderState(testApp.dataSource, order.orderId)).status).toBe('refunded');
  });

  it('charge.refunded from the Stripe dashboard refunds a confirmed order; a partial refund does not', async () => {
    const event = await eventStartingIn(48);
    const order = await purchase(event);
    await deliver(testApp, 'charge.refunded', refundedCharge(order.paymentIntent, false));
    expect((await orderState(testApp.dataSource, order.orderId)).status).toBe('confirmed');

    await deliver(testApp, 'charge.refunded', refundedCharge(order.paymentIntent));
    expect(await orderState(testApp.dataSource, order.orderId)).toMatchObject({
      status: 'refunded',
      tickets: [],
    });
    expect(refundRequests()).toEqual([]);
    await expectLockStoreInLine(event);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });
});
