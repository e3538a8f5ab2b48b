import Stripe from 'stripe';
import { FAKE_STRIPE_SECRET_KEY, stripeClientFor } from './stripe-client';
import { startStripeFake, type FailureKind, type StripeFake } from './stripe-server';

// Everything goes through the real `stripe` SDK, configured like the app configures it.

const nowSeconds = () => Math.floor(Date.now() / 1000);

function checkoutParams(
  overrides: Partial<Stripe.Checkout.SessionCreateParams> = {},
): Stripe.Checkout.SessionCreateParams {
  return {
    mode: 'payment',
    line_items: [
      {
        quantity: 2,
        price_data: {
          currency: 'eur',
          unit_amount: 2500,
          product_data: { name: 'General admission' },
        },
      },
      {
        quantity: 1,
        price_data: { currency: 'eur', unit_amount: 150, product_data: { name: 'Booking fee' } },
      },
    ],
    metadata: { orderId: 'ord_123' },
    client_reference_id: 'ord_123',
    customer_email: 'buyer@example.com',
    expires_at: nowSeconds() + 31 * 60,
    success_url: 'https://tickets.example/success?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://tickets.example/cancel',
    ...overrides,
  };
}
const EXPECTED_TOTAL = 2 * 2500 + 150;

/** The error `promise` rejects with; fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the Stripe call to fail, but it succeeded');
}

describe('Stripe fake server, through the real stripe SDK', () => {
  let fake: StripeFake;
  let stripe: Stripe;

  beforeAll(async () => {
    fake = await startStripeFake();
    stripe = stripeClientFor(fake);
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  /** A session the customer has paid for, and its PaymentIntent id. */
  async function paidSession(): Promise<{
    session: Stripe.Checkout.Session;
    paymentIntent: string;
  }> {
    const session = await stripe.checkout.sessions.create(checkoutParams());
    const completed = fake.completeSession(session.id);
    return { session, paymentIntent: completed.payment_intent! };
  }

  describe('checkout.sessions.create', () => {
    it('creates an open session priced from line_items and records what the SDK sent', async () => {
      const params = checkoutParams();
      const session = await stripe.checkout.sessions.create(params);

      expect(session).toMatchObject({
        id: expect.stringMatching(/^cs_test_\w+$/),
        object: 'checkout.session',
        status: 'open',
        payment_status: 'unpaid',
        mode: 'payment',
        amount_total: EXPECTED_TOTAL,
        amount_subtotal: EXPECTED_TOTAL,
        currency: 'eur',
        metadata: { orderId: 'ord_123' },
        client_reference_id: 'ord_123',
        customer_email: 'buyer@example.com',
        expires_at: params.expires_at,
        success_url: params.success_url,
        cancel_url: params.cancel_url,
        // Stripe creates the PaymentIntent only when the customer pays.
        payment_intent: null,
        url: `${fake.url}/pay/${session.id}`,
      });
      expect(Math.abs(session.created - nowSeconds())).toBeLessThanOrEqual(5);
      expect(session).not.toHaveProperty('line_items');
      expect(session.lastResponse.statusCode).toBe(200);
      expect(session.lastResponse.requestId).toMatch(/^req_/);
      expect(fake.sessions.get(session.id)?.amount_total).toBe(EXPECTED_TOTAL);

      expect(fake.requests).toHaveLength(1);
      const [request] = fake.requests;
      expect(request).toMatchObject({ method: 'POST', path: '/v1/checkout/sessions' });
      expect(request.body).toEqual({
        mode: 'payment',
        line_items: [
          {
            quantity: '2',
            price_data: {
              currency: 'eur',
              unit_amount: '2500',
              product_data: { name: 'General admission' },
            },
          },
          {
            quantity: '1',
            price_data: {
              currency: 'eur',
              unit_amount: '150',
              product_data: { name: 'Booking fee' },
            },
          },
        ],
        metadata: { orderId: 'ord_123' },
        client_reference_id: 'ord_123',
        customer_email: 'buyer@example.com',
        expires_at: String(params.expires_at),
        success_url: params.success_url,
        cancel_url: params.cancel_url,
      });
      expect(request.headers).toMatchObject({
        authorization: `Bearer ${FAKE_STRIPE_SECRET_KEY}`,
        'content-type': 'application/x-www-form-urlencoded',
        'stripe-version': Stripe.API_VERSION,
        'user-agent': expect.stringMatching(/^Stripe\/v1 NodeBindings\/23\.\d+\.\d+/),
        // v23 keys every POST, even with maxNetworkRetries: 0.
        'idempotency-key': expect.stringMatching(/^stripe-node-retry-[0-9a-f-]{36}$/),
      });
      expect(JSON.parse(String(request.headers['x-stripe-client-user-agent']))).toMatchObject({
        bindings_version: Stripe.PACKAGE_VERSION,
        lang: 'node',
      });
    });

    it('returns line_items only when expanded, as Stripe does', async () => {
      const session = await stripe.checkout.sessions.create(
        checkoutParams({ expand: ['line_items'] }),
      );
      expect(session.line_items?.data).toEqual([
        expect.objectContaining({
          object: 'item',
          description: 'General admission',
          quantity: 2,
          amount_total: 5000,
          currency: 'eur',
          price: expect.objectContaining({ unit_amount: 2500, currency: 'eur' }),
        }),
        expect.objectContaining({ description: 'Booking fee', quantity: 1, amount_total: 150 }),
      ]);

      const plain = await stripe.checkout.sessions.retrieve(session.id);
      expect(plain).not.toHaveProperty('line_items');
      const expanded = await stripe.checkout.sessions.retrieve(session.id, {
        expand: ['line_items'],
      });
      expect(expanded.line_items?.data.map((item) => item.amount_total)).toEqual([5000, 150]);
      expect(fake.requests.at(-1)?.query).toEqual({ expand: ['line_items'] });
    });

    it.each([
      [
        'expires_at under 30 minutes',
        { expires_at: nowSeconds() + 10 * 60 },
        'expires_at',
        /at least 30 minutes/,
      ],
      [
        'expires_at over 24 hours',
        { expires_at: nowSeconds() + 25 * 3600 },
        'expires_at',
        /less than 24 hours/,
      ],
      ['no mode', { mode: undefined }, 'mode', /Missing required param: mode/],
      ['no line_items', { line_items: undefined }, 'line_items', /line_items/],
    ] as const)(
      'rejects %s like Stripe and creates nothing',
      async (_case, overrides, param, message) => {
        const err = await rejectionOf(stripe.checkout.sessions.create(checkoutParams(overrides)));

        expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
        expect(err).toMatchObject({ statusCode: 400, rawType: 'invalid_request_error', param });
        expect(err.message).toMatch(message);
        expect(fake.sessions.size).toBe(0);
      },
    );

    it('accepts expires_at at exactly 30 minutes and 24 hours', async () => {
      const soon = await stripe.checkout.sessions.create(
        checkoutParams({ expires_at: nowSeconds() + 30 * 60 }),
      );
      const late = await stripe.checkout.sessions.create(
        checkoutParams({ expires_at: nowSeconds() + 24 * 3600 }),
      );
      expect([soon.status, late.status]).toEqual(['open', 'open']);
    });
  });

  describe('checkout.sessions.retrieve', () => {
    it('returns the current state of a session', async () => {
      const created = await stripe.checkout.sessions.create(checkoutParams());
      expect(await stripe.checkout.sessions.retrieve(created.id)).toMatchObject({
        id: created.id,
        status: 'open',
        amount_total: EXPECTED_TOTAL,
        metadata: { orderId: 'ord_123' },
      });

      fake.completeSession(created.id);
      const completed = await stripe.checkout.sessions.retrieve(created.id);
      expect(completed).toMatchObject({
        status: 'complete',
        payment_status: 'paid',
        payment_intent: expect.stringMatching(/^pi_test_/),
        url: null,
      });
      expect(fake.paymentIntents.get(completed.payment_intent as string)).toMatchObject({
        amount: EXPECTED_TOTAL,
        status: 'succeeded',
      });
    });

    it('answers 404 resource_missing for an unknown session', async () => {
      const err = await rejectionOf(stripe.checkout.sessions.retrieve('cs_test_nope'));
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err).toMatchObject({ statusCode: 404, code: 'resource_missing' });
      expect(err.message).toContain("No such checkout.session: 'cs_test_nope'");
    });
  });

  describe('checkout.sessions.expire', () => {
    it('expires an open session', async () => {
      const created = await stripe.checkout.sessions.create(checkoutParams());
      const expired = await stripe.checkout.sessions.expire(created.id);

      expect(expired).toMatchObject({ id: created.id, status: 'expired', url: null });
      expect(fake.sessions.get(created.id)?.status).toBe('expired');
      expect(fake.requests.at(-1)).toMatchObject({
        method: 'POST',
        path: `/v1/checkout/sessions/${created.id}/expire`,
      });
    });

    it.each([
      ['complete', (id: string) => fake.completeSession(id)],
      ['expired', (id: string) => stripe.checkout.sessions.expire(id)],
    ] as const)('refuses a %s session like Stripe', async (status, makeNotOpen) => {
      const created = await stripe.checkout.sessions.create(checkoutParams());
      await makeNotOpen(created.id);

      const err = await rejectionOf(stripe.checkout.sessions.expire(created.id));
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err).toMatchObject({ statusCode: 400, rawType: 'invalid_request_error' });
      expect(err.message).toBe(
        `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of \`${status}\`.`,
      );
      expect(fake.sessions.get(created.id)?.status).toBe(status);
    });

    it('answers 404 for an unknown session', async () => {
      const err = await rejectionOf(stripe.checkout.sessions.expire('cs_test_nope'));
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    });
  });

  describe('refunds.create', () => {
    it('refunds the whole payment by default', async () => {
      const { paymentIntent } = await paidSession();
      const refund = await stripe.refunds.create({
        payment_intent: paymentIntent,
        reason: 'requested_by_customer',
        metadata: { orderId: 'ord_123' },
      });

      expect(refund).toMatchObject({
        id: expect.stringMatching(/^re_test_/),
        object: 'refund',
        status: 'succeeded',
        amount: EXPECTED_TOTAL,
        currency: 'eur',
        payment_intent: paymentIntent,
        reason: 'requested_by_customer',
        metadata: { orderId: 'ord_123' },
      });
      expect(fake.refunds.get(refund.id)?.amount).toBe(EXPECTED_TOTAL);
      expect(fake.requests.at(-1)?.body).toEqual({
        payment_intent: paymentIntent,
        reason: 'requested_by_customer',
        metadata: { orderId: 'ord_123' },
      });
    });

    it('tracks partial refunds and refuses to refund more than was paid', async () => {
      const { paymentIntent } = await paidSession();
      await stripe.refunds.create({ payment_intent: paymentIntent, amount: 5000 });

      const tooMuch = await rejectionOf(
        stripe.refunds.create({ payment_intent: paymentIntent, amount: 151 }),
      );
      expect(tooMuch).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(tooMuch).toMatchObject({ code: 'amount_too_large', param: 'amount' });

      const rest = await stripe.refunds.create({ payment_intent: paymentIntent });
      expect(rest.amount).toBe(150);

      const again = await rejectionOf(stripe.refunds.create({ payment_intent: paymentIntent }));
      expect(again).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' });
      expect(fake.refunds.size).toBe(2);
    });

    it('answers 400 resource_missing for an unknown payment intent', async () => {
      const err = await rejectionOf(stripe.refunds.create({ payment_intent: 'pi_test_nope' }));
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err).toMatchObject({
        statusCode: 400,
        code: 'resource_missing',
        param: 'payment_intent',
      });
      expect(fake.refunds.size).toBe(0);
    });

    it('refuses to refund a session that completed unpaid', async () => {
      const session = await stripe.checkout.sessions.create(checkoutParams());
      const completed = fake.completeSession(session.id, { paid: false });
      expect(completed).toMatchObject({ status: 'complete', payment_status: 'unpaid' });

      const err = await rejectionOf(
        stripe.refunds.create({ payment_intent: completed.payment_intent! }),
      );
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err.message).toMatch(/does not have a successful charge to refund/);
      expect(fake.refunds.size).toBe(0);
    });
  });

  describe('idempotency', () => {
    it('replays the first answer for a repeated key on the same endpoint', async () => {
      const params = checkoutParams();
      const first = await stripe.checkout.sessions.create(params, { idempotencyKey: 'order-42' });
      const second = await stripe.checkout.sessions.create(params, { idempotencyKey: 'order-42' });

      expect(second.id).toBe(first.id);
      expect(second).toEqual(first);
      expect(fake.sessions.size).toBe(1);
      expect(fake.requests.map((r) => r.headers['idempotency-key'])).toEqual([
        'order-42',
        'order-42',
      ]);
      expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
      expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    });

    it('replays the original body even after the session changed', async () => {
      const params = checkoutParams();
      const first = await stripe.checkout.sessions.create(params, { idempotencyKey: 'order-43' });
      await stripe.checkout.sessions.expire(first.id);

      const replay = await stripe.checkout.sessions.create(params, { idempotencyKey: 'order-43' });
      expect(replay).toMatchObject({ id: first.id, status: 'open' });
      expect(fake.sessions.get(first.id)?.status).toBe('expired');
    });

    it('refuses the same key with different parameters', async () => {
      await stripe.checkout.sessions.create(checkoutParams(), { idempotencyKey: 'order-44' });
      const err = await rejectionOf(
        stripe.checkout.sessions.create(checkoutParams({ metadata: { orderId: 'ord_999' } }), {
          idempotencyKey: 'order-44',
        }),
      );

      expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
      expect(err).toMatchObject({ statusCode: 400, rawType: 'idempotency_error' });
      expect(err.message).toMatch(/same parameters/);
      expect(fake.sessions.size).toBe(1);
    });

    it('refuses the same key on another endpoint', async () => {
      const { paymentIntent } = await paidSession();
      const session = await stripe.checkout.sessions.create(checkoutParams(), {
        idempotencyKey: 'order-45',
      });
      const err = await rejectionOf(
        stripe.refunds.create({ payment_intent: paymentIntent }, { idempotencyKey: 'order-45' }),
      );

      expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
      expect(err.message).toMatch(/same endpoint/);
      expect(fake.refunds.size).toBe(0);
      expect(fake.sessions.get(session.id)?.status).toBe('open');
    });

    it("dedupes the SDK's own retry, which reuses its generated key", async () => {
      const retrying = stripeClientFor(fake, { maxNetworkRetries: 1 });
      fake.failNext(1, 'server_error');

      const session = await retrying.checkout.sessions.create(checkoutParams());

      expect(fake.sessions.size).toBe(1);
      expect(fake.sessions.has(session.id)).toBe(true);
      const keys = fake.requests.map((r) => r.headers['idempotency-key']);
      expect(keys).toHaveLength(2);
      expect(keys[1]).toBe(keys[0]);
    });
  });

  describe('failure switches', () => {
    const kinds: [FailureKind, new (...args: never[]) => Error, number, string | undefined][] = [
      ['server_error', Stripe.errors.StripeAPIError, 500, undefined],
      ['card_error', Stripe.errors.StripeCardError, 402, 'card_declined'],
      ['rate_limit', Stripe.errors.StripeRateLimitError, 429, 'rate_limit'],
    ];

    it.each(kinds)(
      '%s becomes the matching SDK error and changes nothing',
      async (kind, errorClass, statusCode, code) => {
        fake.failNext(1, kind);
        const createErr = await rejectionOf(stripe.checkout.sessions.create(checkoutParams()));
        expect(createErr).toBeInstanceOf(errorClass);
        expect(createErr).toMatchObject({ statusCode, code });
        expect(fake.sessions.size).toBe(0);

        const session = await stripe.checkout.sessions.create(checkoutParams());
        fake.failNext(1, kind);
        const expireErr = await rejectionOf(stripe.checkout.sessions.expire(session.id));
        expect(expireErr).toBeInstanceOf(errorClass);
        expect(fake.sessions.get(session.id)?.status).toBe('open');

        const { paymentIntent } = await paidSession();
        fake.failNext(1, kind);
        await expect(
          stripe.refunds.create({ payment_intent: paymentIntent }),
        ).rejects.toBeInstanceOf(errorClass);
        expect(fake.refunds.size).toBe(0);
        expect(fake.requests).toHaveLength(5);
      },
    );

    it('fails exactly n calls, in the order queued, with optional headers', async () => {
      fake.failNext(1, 'rate_limit', { headers: { 'Retry-After': '2' } });
      fake.failNext(1, 'card_error');

      const limited = await rejectionOf(stripe.checkout.sessions.create(checkoutParams()));
      expect(limited).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
      // The SDK does not interpret Retry-After; it exposes the raw response headers.
      expect(limited.headers?.['retry-after']).toBe('2');
      expect(limited.rawType).toBe('invalid_request_error');

      const declined = await rejectionOf(stripe.checkout.sessions.create(checkoutParams()));
      expect(declined).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(declined).toMatchObject({ decline_code: 'generic_decline' });

      await expect(stripe.checkout.sessions.create(checkoutParams())).resolves.toMatchObject({
        status: 'open',
      });
    });
  });

  describe('hang', () => {
    it('lets the SDK time out with a StripeConnectionError and creates nothing', async () => {
      const impatient = stripeClientFor(fake, { timeout: 300 });
      fake.hang(true);

      const err = await rejectionOf(impatient.checkout.sessions.create(checkoutParams()));

      expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
      expect(err.message).toBe('Request aborted due to timeout being reached (300ms)');
      expect(fake.requests).toHaveLength(1); // it arrived, and the SDK did not retry
      expect(fake.sessions.size).toBe(0);
    });

    it('answers after the given delay', async () => {
      fake.hang(200);
      const started = Date.now();
      const session = await stripe.checkout.sessions.create(checkoutParams());

      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(fake.sessions.get(session.id)?.status).toBe('open');
    });

    it('processes held requests when released', async () => {
      fake.hang(true);
      const pending = stripe.checkout.sessions.create(checkoutParams());
      await fake.whenHeld();
      expect(fake.heldCount).toBe(1);
      expect(fake.sessions.size).toBe(0);

      fake.hang(false);
      const session = await pending;
      expect(fake.sessions.has(session.id)).toBe(true);
      expect(fake.heldCount).toBe(0);
    });

    it('can lose the answer after doing the work, so a retry with the same key replays it', async () => {
      const impatient = stripeClientFor(fake, { timeout: 300 });
      const params = checkoutParams();
      fake.hang(true, { afterProcessing: true });

      const err = await rejectionOf(
        impatient.checkout.sessions.create(params, { idempotencyKey: 'order-46' }),
      );
      expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
      expect(fake.sessions.size).toBe(1);

      fake.hang(false);
      const retried = await stripe.checkout.sessions.create(params, { idempotencyKey: 'order-46' });
      expect(fake.sessions.has(retried.id)).toBe(true);
      expect(fake.sessions.size).toBe(1);
      expect(retried.lastResponse.headers['idempotent-replayed']).toBe('true');
    });
  });

  describe('down / up', () => {
    it('is unreachable while down and serves again on the same URL once up', async () => {
      const url = fake.url;
      await stripe.checkout.sessions.create(checkoutParams()); // leave a keep-alive socket behind
      await fake.down();

      const err = await rejectionOf(stripe.checkout.sessions.create(checkoutParams()));
      expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
      expect(fake.sessions.size).toBe(1);

      await fake.up();
      expect(fake.url).toBe(url);
      await expect(stripe.checkout.sessions.create(checkoutParams())).resolves.toMatchObject({
        status: 'open',
      });
      expect(fake.sessions.size).toBe(2);
    });
  });

  describe('authentication', () => {
    it('answers 401 when no API key is sent', async () => {
      const anonymous = stripeClientFor(fake, { apiKey: null });
      const err = await rejectionOf(anonymous.checkout.sessions.create(checkoutParams()));

      expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      expect(err).toMatchObject({ statusCode: 401, rawType: 'invalid_request_error' });
      expect(err.message).toMatch(/You did not provide an API key/);
      expect(fake.requests[0].headers.authorization).toBeUndefined();
      expect(fake.sessions.size).toBe(0);
    });

    it('answers 401 for a key that is not a test secret key', async () => {
      const live = stripeClientFor(fake, { apiKey: 'sk_live_0123456789abcdef' });
      const err = await rejectionOf(live.checkout.sessions.retrieve('cs_test_any'));

      expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      expect(err.message).toBe('Invalid API Key provided: sk_live_************cdef');
    });
  });

  describe('test helpers', () => {
    it('serves the session url and completes sessions over HTTP under /__fake/', async () => {
      const session = await stripe.checkout.sessions.create(checkoutParams());
      const page = await fetch(session.url!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(session.id);

      const completed = await fetch(`${fake.url}/__fake/checkout/sessions/${session.id}/complete`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'paid=false',
      });
      expect(completed.status).toBe(200);
      expect(await stripe.checkout.sessions.retrieve(session.id)).toMatchObject({
        status: 'complete',
        payment_status: 'unpaid',
      });
      expect((await fetch(session.url!)).status).toBe(404);
      expect(fake.requests.every((r) => r.path.startsWith('/v1/'))).toBe(true);
    });

    it('completeSession refuses sessions that are not open', async () => {
      const session = await stripe.checkout.sessions.create(checkoutParams());
      await stripe.checkout.sessions.expire(session.id);
      expect(() => fake.completeSession(session.id)).toThrow(/it is expired/);
      expect(() => fake.completeSession('cs_test_nope')).toThrow(/no such checkout session/);
    });

    it('reset() forgets state, queued failures and hang mode', async () => {
      await paidSession();
      fake.failNext(3, 'server_error');
      fake.hang(true);

      fake.reset();
      expect([fake.sessions.size, fake.paymentIntents.size, fake.requests.length]).toEqual([
        0, 0, 0,
      ]);
      await expect(stripe.checkout.sessions.create(checkoutParams())).resolves.toMatchObject({
        status: 'open',
      });
    });
  });
});
