import { randomUUID } from 'node:crypto';
import { HoldRelease } from '@app/orders';
import { OwedRefundJob } from '@app/payments';
import { startStripeFake, type StripeFake } from '../fakes/stripe-server';
import {
  eventually,
  holdTickets,
  openCheckout,
  orderState,
  startPaymentsApp,
  stripeSettings,
} from '../support/payments-helpers';
import { createEvent, type TestEvent } from '../support/booking';
import { createUser, type TestApp, type TestUser } from '../support/test-app';

const MAX_ATTEMPTS = 3;
const BAD_REFUNDS = 30;

describe('interval jobs: a row that fails for good never blocks the others', () => {
  let fake: StripeFake;
  let testApp: TestApp;
  let admin: TestUser;
  let event: TestEvent;

  beforeAll(async () => {
    fake = await startStripeFake();
    testApp = await startPaymentsApp('backoff', {
      ...stripeSettings(fake),
      JOB_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      JOB_BACKOFF_BASE_MS: '20',
    });
    admin = await createUser(testApp, { admin: true });
    event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 10 }],
    });
  });
  afterAll(async () => {
    await testApp.close();
    await fake.close();
  });

  /** Orders owing a refund whose payment Stripe does not know: every refund is refused. */
  async function owedRefundsStripeRefuses(count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    await testApp.dataSource.query(
      `INSERT INTO orders (id, user_id, event_id, status, quantity, total_amount, currency,
                           expires_at, payment_intent_id, refund_due_at)
       SELECT id, $2, $3, 'expired', 1, 2500, 'usd', now(), 'pi_unknown_' || n,
              now() - interval '1 hour' + n * interval '1 second'
       FROM unnest($1::uuid[]) WITH ORDINALITY AS bad (id, n)`,
      [ids, admin.id, event.id],
    );
    return ids;
  }

  /** A real payment that arrived after its hold ended and its tickets were sold on. */
  async function owedRefundStripeAccepts(): Promise<string> {
    const held = await holdTickets(testApp, event, 1);
    const session = await openCheckout(testApp, fake, held);
    const paid = fake.completeSession(session.id);
    await testApp.app.get(HoldRelease).release([held.orderId], 'expired');
    await testApp.dataSource.query(
      `UPDATE orders SET payment_intent_id = $2, refund_due_at = now() WHERE id = $1`,
      [held.orderId, paid.payment_intent],
    );
    return held.orderId;
  }

  it('30 refunds Stripe refuses for good do not hold back a later good one, and end marked for a human', async () => {
    const bad = await owedRefundsStripeRefuses(BAD_REFUNDS);
    const good = await owedRefundStripeAccepts();

    await eventually('the good refund to go through', async () =>
      (await orderState(testApp.dataSource, good)).status === 'refunded' ? true : undefined,
    );
    expect(fake.refunds.size).toBe(1);

    const job = testApp.app.get(OwedRefundJob);
    await eventually('every refused refund to be marked for a human', async () =>
      (await job.needingAttention()) === BAD_REFUNDS ? true : undefined,
    );
    // Each refused refund was tried exactly the capped number of times, then left alone.
    const tries = fake.requests.filter(
      (request) =>
        request.path === '/v1/refunds' &&
        typeof request.body.payment_intent === 'string' &&
        request.body.payment_intent.startsWith('pi_unknown_'),
    );
    expect(tries).toHaveLength(BAD_REFUNDS * MAX_ATTEMPTS);
    const states = await testApp.dataSource.query(
      `SELECT DISTINCT status, refund_due_at IS NOT NULL AS "refundDue" FROM orders WHERE id = ANY($1::uuid[])`,
      [bad],
    );
    expect(states).toEqual([{ status: 'expired', refundDue: true }]);
    expect(await job.run()).toBe(0);
  });
});
