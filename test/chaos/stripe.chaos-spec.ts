import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { StripeFake } from '../fakes/stripe-server';
import { eventually } from '../support/eventually';
import { ensureBuilt } from '../support/processes';
import { RedisServer } from '../support/redis-server';
import { AppProcess } from './support/app-process';
import { signWebhook, stripeEvent, stripeFakeSettings } from './support/payer';
import { inProfile, profile } from './support/profile';
import { stormAround } from './support/scenario';
import type { BookedOrder } from './support/storm';
import { type Buyer, chaosDatabase, createBuyers, createEvent } from './support/world';

/** Long enough that holds made during a fault outlive it on a loaded machine. */
const HOLD_SECONDS = 30;
/** The app gives Stripe this long per call; "slow" Stripe answers after 2 s. */
const STRIPE_TIMEOUT_MS = 1000;
const LINKS_PER_FAULT = 5;

/**
 * Stripe slow, failing and rate limiting while a booking storm runs: bookings never call
 * Stripe, so they are unaffected; checkout links degrade to 503 with Retry-After and keep
 * the hold; refunds owed while Stripe is away are made when it returns.
 */
describe('chaos: Stripe slow, failing, rate limiting and away', () => {
  let redis: RedisServer;
  let control: Redis;
  let fake: StripeFake;
  let app: AppProcess;
  let db: Pool;
  let admin: Buyer;
  let buyers: Buyer[];

  beforeAll(async () => {
    await ensureBuilt();
    redis = await RedisServer.start();
    control = redis.client();
    await control.connect();
    fake = await StripeFake.start();
    const database = await chaosDatabase('stripe');
    db = database.db;
    app = await AppProcess.start({
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      HOLD_SECONDS: String(HOLD_SECONDS),
      ...stripeFakeSettings(fake),
      STRIPE_TIMEOUT_MS: String(STRIPE_TIMEOUT_MS),
    });
    [admin] = await createBuyers(db, 1, 'admin');
    buyers = await createBuyers(db, profile.buyers);
  }, 180_000);

  afterAll(async () => {
    await app?.stop();
    await fake?.close();
    control?.disconnect();
    await redis?.stop();
    await db?.end();
  });

  /** Holds created during the fault, whose links the buyers follow while it lasts. */
  const linkStorm = async (
    fault: string,
    start: () => void,
    stop: () => void,
    expected: { status: number[]; retryAfter: boolean },
  ) => {
    // Big enough not to sell out before the fault: the holds made during it are the point.
    const event = await createEvent(app.url, admin, [20_000, 20_000]);
    const problems: string[] = [];
    let faulty = false;
    const during: BookedOrder[] = [];
    const result = await stormAround(fault, {
      urls: [app.url],
      db,
      event,
      buyers,
      redis: control,
      onCreated: (order) => (faulty && during.length < LINKS_PER_FAULT ? during.push(order) : 0),
      inject: async () => {
        start();
        faulty = true;
        let answers: Response[];
        try {
          await eventually(() => Promise.resolve(during.length === LINKS_PER_FAULT), {
            timeoutMs: 20_000,
            what: 'holds made during the fault',
          });
          answers = await Promise.all(
            during.map((order) => fetch(order.checkoutUrl, { redirect: 'manual' })),
          );
        } finally {
          // Never leave the fake failing for the next scenario.
          faulty = false;
          stop();
        }
        for (const answer of answers) {
          if (!expected.status.includes(answer.status)) {
            problems.push(`checkout link answered ${answer.status} while Stripe was ${fault}`);
          }
          if (!/^application\/problem\+json/.test(answer.headers.get('content-type') ?? '')) {
            problems.push(`checkout link ${answer.status} is not problem+json`);
          }
          if (expected.retryAfter && !(Number(answer.headers.get('retry-after')) > 0)) {
            problems.push(`checkout link ${answer.status} without Retry-After`);
          }
        }
        // The holds stayed, and their links work again now that Stripe is back.
        for (const order of during) {
          const { rows } = await db.query<{ status: string }>(
            'SELECT status FROM orders WHERE id = $1',
            [order.id],
          );
          const answer = await fetch(order.checkoutUrl, { redirect: 'manual' });
          if (rows[0]?.status !== 'pending' || answer.status !== 303) {
            problems.push(
              `after the fault: order ${rows[0]?.status}, its link answered ${answer.status}`,
            );
          }
        }
      },
      extraChecks: () => Promise.resolve(problems),
    });
    expect(during).toHaveLength(LINKS_PER_FAULT);
    expect(result.violations).toEqual([]);
    // Bookings never wait on Stripe: none of them was refused.
    expect(result.line.unavailable).toBe(0);
  };

  const faults: [string, () => void, () => void, { status: number[]; retryAfter: boolean }][] = [
    // Slower than the app's STRIPE_TIMEOUT_MS: links answer 503 with Retry-After.
    [
      'stripe slow 2 s',
      () => fake.hang(2000),
      () => fake.hang(false),
      { status: [503], retryAfter: true },
    ],
    [
      'stripe failing (500)',
      () => fake.failNext(LINKS_PER_FAULT, 'server_error'),
      () => undefined,
      { status: [503], retryAfter: true },
    ],
    [
      'stripe rate limiting (429)',
      () => fake.failNext(LINKS_PER_FAULT, 'rate_limit'),
      () => undefined,
      { status: [503], retryAfter: true },
    ],
  ];

  it.each(inProfile(faults, ['stripe rate limiting (429)']))(
    '%s: bookings unaffected, checkout links degrade',
    async (fault, start, stop, expected) => {
      await linkStorm(fault, start, stop, expected);
    },
  );

  it('Stripe away: refunds owed meanwhile are made when it returns', async () => {
    // Late payments: paid at Stripe during the hold, announced after the hold ended and its
    // tickets were booked by others, so the money must go back.
    const small = await createEvent(app.url, admin, [6]);
    const ticketType = small.ticketTypes[0].id;
    const [late1, late2, late3, next1, next2, next3] = await createBuyers(db, 6);
    const paid: { orderId: string; payload: string; tickets: string[] }[] = [];
    for (const buyer of [late1, late2, late3]) {
      const booked = await bookOnce(app.url, buyer, small.id, {
        ticketTypeId: ticketType,
        quantity: 2,
      });
      const link = await fetch(booked.checkoutUrl, { redirect: 'manual' });
      expect(link.status).toBe(303);
      const session = [...fake.sessions.values()].find(
        (s) => s.url === link.headers.get('location'),
      )!;
      const completed = fake.completeSession(session.id);
      paid.push({
        orderId: booked.id,
        payload: stripeEvent('checkout.session.completed', { ...completed, line_items: undefined }),
        tickets: booked.tickets,
      });
    }
    // The buyers cancel (their payment has not been announced yet).
    for (const [i, buyer] of [late1, late2, late3].entries()) {
      const cancelled = await fetch(`${app.url}/api/v1/orders/${paid[i].orderId}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${buyer.token}` },
      });
      expect(cancelled.status).toBe(200);
    }
    for (const [i, buyer] of [next1, next2, next3].entries()) {
      await bookOnce(app.url, buyer, small.id, { ticketIds: paid[i].tickets });
    }

    const event = await createEvent(app.url, admin, [2000, 2000]);
    let owedWhileAway = 0;
    const result = await stormAround('stripe away: owed refunds catch up', {
      urls: [app.url],
      db,
      event,
      buyers,
      redis: control,
      inject: async () => {
        await fake.down();
        for (const { payload } of paid) {
          const answer = await fetch(`${app.url}/api/v1/payments/webhook`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'stripe-signature': signWebhook(payload),
            },
            body: payload,
          });
          expect(answer.status).toBe(200);
        }
        // The refund job tries while Stripe is away, and fails without losing the debt.
        await eventually(
          async () =>
            (
              await db.query(
                `SELECT 1 FROM orders WHERE id = ANY($1::uuid[]) AND refund_due_at IS NOT NULL
                   AND status = 'cancelled'`,
                [paid.map((p) => p.orderId)],
              )
            ).rowCount === paid.length,
          { timeoutMs: 10_000, what: 'the refunds to be owed' },
        );
        owedWhileAway = paid.length;
        await fake.up();
      },
      extraChecks: async () => {
        try {
          await eventually(
            async () =>
              (
                await db.query(
                  `SELECT 1 FROM orders WHERE id = ANY($1::uuid[]) AND status = 'refunded'`,
                  [paid.map((p) => p.orderId)],
                )
              ).rowCount === paid.length,
            { timeoutMs: 30_000, what: 'the owed refunds to be made' },
          );
          return [];
        } catch (error) {
          return [String(error)];
        }
      },
      paidOrderIds: () => paid.map((p) => p.orderId),
    });
    expect(owedWhileAway).toBe(3);
    expect(result.violations).toEqual([]);
    expect(result.line.unavailable).toBe(0);
    expect([...fake.refunds.values()].map((refund) => refund.metadata.orderId).sort()).toEqual(
      paid.map((p) => p.orderId).sort(),
    );
  });
});

async function bookOnce(
  url: string,
  buyer: Buyer,
  eventId: string,
  body: object,
): Promise<BookedOrder> {
  const answer = await fetch(`${url}/api/v1/events/${eventId}/bookings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${buyer.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await answer.json()) as {
    order: { id: string; tickets: { id: string }[] };
    checkoutUrl: string;
  };
  if (answer.status !== 201) throw new Error(`booking: ${answer.status} ${JSON.stringify(json)}`);
  return {
    id: json.order.id,
    tickets: json.order.tickets.map((ticket) => ticket.id),
    checkoutUrl: json.checkoutUrl,
  };
}
