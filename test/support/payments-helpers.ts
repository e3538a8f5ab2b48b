import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import type { DataSource } from 'typeorm';
import { FAKE_STRIPE_SECRET_KEY } from '../fakes/stripe-client';
import type { StripeFake } from '../fakes/stripe-server';
import { book, createBuyers, type TestEvent } from './booking';
import { eventually as poll } from './eventually';
import { freshDatabase } from './fresh-database';
import { startTestApp, type TestApp, type TestUser } from './test-app';

export const WEBHOOK_SECRET = 'whsec_payments_e2e_0123456789abcdef';

/**
 * The payments suites each get a database of their own: their apps' background jobs
 * (session expiry, owed refunds) act on every order in the database, and would otherwise
 * send another suite's sessions to their own Stripe fake.
 */
export async function startPaymentsApp(
  suite: string,
  overrides: Record<string, string> = {},
): Promise<TestApp> {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `${url.pathname}_${suite}`;
  await freshDatabase(url);
  return startTestApp({ DATABASE_URL: url.toString(), AUTH_RATE_LIMIT: '0', ...overrides });
}

/** The app talks to the fake as it would to Stripe. */
export function stripeSettings(fake: StripeFake): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: FAKE_STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_URL: fake.url,
  };
}

/** An event as Stripe delivers it, with a fresh id. */
export function stripeEvent(type: string, object: object): { id: string; payload: string } {
  const id = `evt_test_${randomBytes(12).toString('hex')}`;
  const payload = JSON.stringify({
    id,
    object: 'event',
    api_version: '2025-01-01',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  });
  return { id, payload };
}

export function sign(
  payload: string,
  { secret = WEBHOOK_SECRET, timestamp }: { secret?: string; timestamp?: number } = {},
): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

export function postWebhook(testApp: TestApp, payload: string, signature?: string) {
  const call = testApp
    .http()
    .post('/api/v1/payments/webhook')
    .set('Content-Type', 'application/json');
  if (signature !== undefined) call.set('Stripe-Signature', signature);
  return call.send(payload);
}

/** Delivers a signed event and expects it acknowledged. */
export async function deliver(testApp: TestApp, type: string, object: object): Promise<string> {
  const event = stripeEvent(type, object);
  await postWebhook(testApp, event.payload, sign(event.payload)).expect(200, { received: true });
  return event.id;
}

/** The buyer's browser following a link the server gave out (its PUBLIC_URL is not the test port). */
export function follow(testApp: TestApp, url: string) {
  const { pathname, search } = new URL(url);
  return testApp.http().get(`${pathname}${search}`).redirects(0);
}

export interface HeldOrder {
  orderId: string;
  checkoutUrl: string;
  buyer: TestUser;
}

/** One fresh buyer holds `quantity` tickets of the event's first type. */
export async function holdTickets(
  testApp: TestApp,
  event: TestEvent,
  quantity = 1,
): Promise<HeldOrder> {
  const [buyer] = await createBuyers(testApp, 1);
  const booked = await book(testApp, buyer, event.id, {
    ticketTypeId: event.ticketTypes[0].id,
    quantity,
  }).expect(201);
  return { orderId: booked.body.order.id, checkoutUrl: booked.body.checkoutUrl, buyer };
}

/** Follows the checkout link and returns the session the fake created for it. */
export async function openCheckout(testApp: TestApp, fake: StripeFake, held: HeldOrder) {
  const response = await follow(testApp, held.checkoutUrl).expect(303);
  const session = [...fake.sessions.values()].find((s) => s.url === response.headers.location);
  if (!session) throw new Error(`No fake session behind ${response.headers.location}`);
  return session;
}

export interface OrderState {
  status: string;
  tickets: string[];
  checkoutSessionId: string | null;
  checkoutSessionClosed: boolean;
  paymentIntentId: string | null;
  refundDue: boolean;
}

/** The order and the statuses of the tickets it holds or owns, read from PostgreSQL. */
export async function orderState(dataSource: DataSource, orderId: string): Promise<OrderState> {
  const [order]: Omit<OrderState, 'tickets'>[] = await dataSource.query(
    `SELECT status, checkout_session_id AS "checkoutSessionId",
            checkout_session_closed_at IS NOT NULL AS "checkoutSessionClosed",
            payment_intent_id AS "paymentIntentId", refund_due_at IS NOT NULL AS "refundDue"
     FROM orders WHERE id = $1`,
    [orderId],
  );
  const tickets: { status: string }[] = await dataSource.query(
    `SELECT status FROM tickets WHERE order_id = $1 ORDER BY id`,
    [orderId],
  );
  return { ...order, tickets: tickets.map((ticket) => ticket.status) };
}

/** Outbox rows written for the order, as `topic:type`. */
export async function outboxOf(dataSource: DataSource, orderId: string): Promise<string[]> {
  const rows: { entry: string }[] = await dataSource.query(
    `SELECT topic || ':' || (payload->>'type') AS entry FROM outbox
     WHERE payload->>'orderId' = $1 ORDER BY id`,
    [orderId],
  );
  return rows.map((row) => row.entry);
}

/** The shared bounded poll, with the payments suites' argument order and a longer wait. */
export function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  return poll(check, { what, timeoutMs, intervalMs: 100 });
}
