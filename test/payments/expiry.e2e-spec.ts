import { CheckoutSessionExpiryJob } from '@app/payments';
import { startStripeFake, type StripeFake } from '../fakes/stripe-server';
import {
  deliver,
  eventually,
  follow,
  holdTickets,
  openCheckout,
  orderState,
  startPaymentsApp,
  stripeSettings,
} from '../support/payments-helpers';
import { createEvent, expectInventoryConsistent } from '../support/booking';
import { createUser, expectProblem, type TestApp, type TestUser } from '../support/test-app';

describe('payments: checkout sessions end with their holds', () => {
  let fake: StripeFake;
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    fake = await startStripeFake();
    testApp = await startPaymentsApp('expiry', { ...stripeSettings(fake), HOLD_SECONDS: '2' });
    admin = await createUser(testApp, { admin: true });
  });
  afterEach(async () => {
    await fake.up();
    fake.reset();
  });
  afterAll(async () => {
    await testApp.close();
    await fake.close();
  });

  const expireRequests = (sessionId: string) =>
    fake.requests.filter(
      (r) => r.method === 'POST' && r.path === `/v1/checkout/sessions/${sessionId}/expire`,
    );

  const closed = (orderId: string) =>
    eventually('the session to be closed', async () =>
      (await orderState(testApp.dataSource, orderId)).checkoutSessionClosed ? true : undefined,
    );

  it('a hold that runs out expires its Checkout Session at Stripe', async () => {
    const event = await createEvent(testApp, admin);
    const held = await holdTickets(testApp, event);
    const session = await openCheckout(testApp, fake, held);

    await closed(held.orderId);
    expect(expireRequests(session.id)).toHaveLength(1);
    expect(fake.sessions.get(session.id)).toMatchObject({ status: 'expired', url: null });
    expect(await orderState(testApp.dataSource, held.orderId)).toMatchObject({
      status: 'expired',
      tickets: [],
    });
    expectProblem(await follow(testApp, held.checkoutUrl), 409);
  });

  it('while Stripe is unreachable the session stays to expire, and is expired once it is back', async () => {
    const event = await createEvent(testApp, admin);
    const held = await holdTickets(testApp, event);
    const session = await openCheckout(testApp, fake, held);
    await fake.down();
    await eventually('the hold to expire', async () =>
      (await orderState(testApp.dataSource, held.orderId)).status === 'expired' ? true : undefined,
    );
    await testApp.app.get(CheckoutSessionExpiryJob).run();
    expect(await orderState(testApp.dataSource, held.orderId)).toMatchObject({
      checkoutSessionClosed: false,
    });

    await fake.up();
    await closed(held.orderId);
    expect(fake.sessions.get(session.id)?.status).toBe('expired');
  });

  it('a session paid while its hold ran out is closed without retrying; the payment still counts', async () => {
    const event = await createEvent(testApp, admin);
    const held = await holdTickets(testApp, event);
    const session = await openCheckout(testApp, fake, held);
    // Paid at Stripe, but the webhook is late: Stripe refuses to expire a completed session.
    const paid = structuredClone(fake.completeSession(session.id));

    await closed(held.orderId);
    await testApp.app.get(CheckoutSessionExpiryJob).run();
    expect(expireRequests(session.id)).toHaveLength(1);
    expect((await orderState(testApp.dataSource, held.orderId)).status).toBe('expired');

    await deliver(testApp, 'checkout.session.completed', paid);
    expect(await orderState(testApp.dataSource, held.orderId)).toMatchObject({
      status: 'confirmed',
      tickets: ['sold'],
    });
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });
});
