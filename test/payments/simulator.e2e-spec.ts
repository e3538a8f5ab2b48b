import {
  eventually,
  follow,
  holdTickets,
  orderState,
  postWebhook,
  sign,
  startPaymentsApp,
  stripeEvent,
  type HeldOrder,
} from '../support/payments-helpers';
import { createEvent, expectInventoryConsistent, type TestEvent } from '../support/booking';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

/** Without STRIPE_SECRET_KEY the checkout link leads to this server's payment simulator. */
describe('payments: the simulator (no Stripe key)', () => {
  let testApp: TestApp;
  let admin: TestUser;
  let event: TestEvent;

  beforeAll(async () => {
    testApp = await startPaymentsApp('simulator');
    admin = await createUser(testApp, { admin: true });
    event = await createEvent(testApp, admin, {
      name: `<script>alert("x")</script> & Friends`,
      ticketTypes: [{ name: 'Front <row>', price: 2500, quantity: 10 }],
    });
  });
  afterAll(() => testApp.close());

  /** Follows the checkout link as a browser would; answers the simulator page's path. */
  async function simulatorPage(held: HeldOrder): Promise<string> {
    const response = await follow(testApp, held.checkoutUrl).expect(303);
    const location = new URL(response.headers.location);
    expect(location.pathname).toMatch(/^\/api\/v1\/payments\/simulator\/sim_cs_[\w-]+$/);
    return location.pathname;
  }

  /** What a browser sends for the page's forms (enctype="text/plain", no fields). */
  const submit = (action: string) =>
    testApp.http().post(action).set('Content-Type', 'text/plain').send('').redirects(0);

  async function processedEvents(orderId: string): Promise<string[]> {
    const rows: { id: string }[] = await testApp.dataSource.query(
      `SELECT id FROM processed_payment_events WHERE order_id = $1`,
      [orderId],
    );
    return rows.map((row) => row.id);
  }

  it('renders the order, escaped, with Pay and Decline forms posting to itself', async () => {
    const held = await holdTickets(testApp, event, 2);
    const path = await simulatorPage(held);
    const page = await testApp.http().get(path).expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Friends');
    expect(page.text).toContain('Front &lt;row&gt;');
    expect(page.text).not.toContain('<script>');
    expect(page.text).toContain('$50.00');
    const sessionId = path.split('/').pop()!;
    expect(page.text).toContain(`action="${sessionId}/pay"`);
    expect(page.text).toContain(`action="${sessionId}/decline"`);
  });

  it('Pay sends a signed checkout.session.completed through the webhook path and returns to the success page', async () => {
    const held = await holdTickets(testApp, event, 2);
    const path = await simulatorPage(held);

    const paid = await submit(`${path}/pay`).expect(303);
    const location = new URL(paid.headers.location);
    expect(`${location.pathname}${location.search}`).toBe(
      `/api/v1/payments/return/success?orderId=${held.orderId}`,
    );
    expect(await orderState(testApp.dataSource, held.orderId)).toMatchObject({
      status: 'confirmed',
      tickets: ['sold', 'sold'],
      paymentIntentId: expect.stringMatching(/^sim_pi_/),
      checkoutSessionClosed: true,
    });
    expect(await processedEvents(held.orderId)).toEqual([expect.stringMatching(/^evt_sim_/)]);
    const success = await follow(testApp, paid.headers.location).expect(200);
    expect(success.text).toContain('Thank you');

    // The session is complete: the page says so and paying again is refused.
    const page = await testApp.http().get(path).expect(200);
    expect(page.text).toContain('no longer open');
    expectProblem(await submit(`${path}/pay`), 409);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it('Decline fails the order, releases its tickets and returns to the cancel page', async () => {
    const held = await holdTickets(testApp, event, 2);
    const path = await simulatorPage(held);
    const declined = await submit(`${path}/decline`).expect(303);
    expect(new URL(declined.headers.location).pathname).toBe('/api/v1/payments/return/cancel');
    expect(await orderState(testApp.dataSource, held.orderId)).toMatchObject({
      status: 'failed',
      tickets: [],
    });
    expect(await processedEvents(held.orderId)).toHaveLength(1);
    await follow(testApp, declined.headers.location).expect(200);
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });

  it('the webhook route refuses events not signed with the server-derived secret', async () => {
    const held = await holdTickets(testApp, event);
    const path = await simulatorPage(held);
    const forged = stripeEvent('checkout.session.completed', {
      id: path.split('/').pop(),
      object: 'checkout.session',
      payment_status: 'paid',
      payment_intent: 'sim_pi_forged',
      metadata: { orderId: held.orderId },
    });
    expectProblem(await postWebhook(testApp, forged.payload, sign(forged.payload)), 400);
    expect((await orderState(testApp.dataSource, held.orderId)).status).toBe('pending');
  });

  it('a cancelled order’s session is closed: no more paying for it', async () => {
    const held = await holdTickets(testApp, event);
    const path = await simulatorPage(held);
    await testApp
      .http()
      .post(`/api/v1/orders/${held.orderId}/cancel`)
      .set('Authorization', `Bearer ${held.buyer.token}`)
      .expect(200);
    await eventually('the session to be closed', async () =>
      (await orderState(testApp.dataSource, held.orderId)).checkoutSessionClosed ? true : undefined,
    );
    expectProblem(await submit(`${path}/pay`), 409);
    expect((await orderState(testApp.dataSource, held.orderId)).status).toBe('cancelled');
  });

  it('unknown sessions are 404', async () => {
    expectProblem(await testApp.http().get('/api/v1/payments/simulator/sim_cs_unknown'), 404);
    expectProblem(await submit('/api/v1/payments/simulator/cs_test_not_simulated/pay'), 404);
  });

  it('simulated sessions survive a restart', async () => {
    const held = await holdTickets(testApp, event);
    const path = await simulatorPage(held);
    const { DATABASE_URL } = testApp.environment;
    await testApp.close();
    testApp = await startTestApp({ DATABASE_URL: DATABASE_URL!, AUTH_RATE_LIMIT: '0' });

    await testApp.http().get(path).expect(200);
    await submit(`${path}/pay`).expect(303);
    expect((await orderState(testApp.dataSource, held.orderId)).status).toBe('confirmed');
  });
});
