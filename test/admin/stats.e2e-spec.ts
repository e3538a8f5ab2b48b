import { randomUUID } from 'node:crypto';
import { book, createBuyers, createEvent, type TestEvent } from '../support/booking';
import { freshDatabase } from '../support/fresh-database';
import { payWithSimulator } from '../support/simulator';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

describe('GET /api/v1/admin/stats', () => {
  let testApp: TestApp;
  let admin: TestUser;
  let customer: TestUser;
  let concert: TestEvent;
  let quiet: TestEvent;

  beforeAll(async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `${url.pathname}_admin_stats`;
    await freshDatabase(url);
    testApp = await startTestApp({ DATABASE_URL: url.toString(), AUTH_RATE_LIMIT: '0' });
    admin = await createUser(testApp, { admin: true });
    customer = await createUser(testApp);
    concert = await createEvent(testApp, admin, {
      name: 'Stats Concert',
      currency: 'eur',
      ticketTypes: [
        { name: 'General Admission', price: 2500, quantity: 40 },
        { name: 'VIP', price: 9000, quantity: 10 },
      ],
    });
    quiet = await createEvent(testApp, admin, {
      name: 'Quiet Evening',
      startsAt: new Date(Date.now() + 60 * 24 * 3600 * 1000).toISOString(),
    });

    // A sale: six orders held, three of them paid (one VIP), one held and cancelled.
    const buyers = await createBuyers(testApp, 6);
    const orders = await Promise.all(
      buyers.map((buyer, i) =>
        book(testApp, buyer, concert.id, {
          ticketTypeId: concert.ticketTypes[i === 0 ? 1 : 0].id,
          quantity: 1 + (i % 3),
        }).expect(201),
      ),
    );
    for (const order of orders.slice(0, 3)) await payWithSimulator(testApp, order.body.checkoutUrl);
    await testApp
      .http()
      .post(`/api/v1/orders/${orders[5].body.order.id}/cancel`)
      .set('Authorization', `Bearer ${buyers[5].token}`)
      .expect(200);

    // Door and waitlist rows as those features write them.
    const paid = orders[1].body.order;
    await testApp.dataSource.query(
      `INSERT INTO check_ins (ticket_id, event_id, order_id, checked_in_by)
       SELECT ticket_id, $1, order_id, $2 FROM order_items WHERE order_id = $3`,
      [concert.id, admin.id, paid.id],
    );
    await testApp.dataSource.query(
      `INSERT INTO waitlist_entries (user_id, event_id, ticket_type_id, quantity, status)
       VALUES ($1, $2, $3, 2, 'waiting'), ($4, $2, $3, 1, 'waiting'), ($5, $2, $3, 1, 'left')`,
      [buyers[0].id, concert.id, concert.ticketTypes[0].id, buyers[1].id, buyers[2].id],
    );
    // A background job gave up on one row (left for a human) and is still retrying another.
    await testApp.dataSource.query(
      `INSERT INTO job_row_attempts (job, row_id, attempts, next_attempt_at, last_error, attention_at)
       VALUES ('owed-refund', $1, 5, now(), 'provider refused', now()),
              ('owed-refund', $2, 1, now() + interval '1 minute', 'timeout', NULL)`,
      [randomUUID(), randomUUID()],
    );
    // An event long over is not shown.
    const old = await createEvent(testApp, admin, { name: 'Long Over' });
    await testApp.dataSource.query(
      `UPDATE events SET starts_at = now() - interval '3 days' WHERE id = $1`,
      [old.id],
    );
  });
  afterAll(() => testApp.close());

  /** The same figures counted the slow way, from ticket rows and orders. */
  async function fromRows(eventId: string) {
    const [row]: Record<string, number>[] = await testApp.dataSource.query(
      `SELECT (SELECT count(*) FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
               WHERE tt.event_id = $1 AND t.status = 'sold')::int AS sold,
              (SELECT count(*) FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
               WHERE tt.event_id = $1 AND t.status = 'locked')::int AS locked,
              (SELECT count(*) FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
               WHERE tt.event_id = $1 AND t.status = 'available')::int AS available,
              (SELECT coalesce(sum(total_amount), 0) FROM orders
               WHERE event_id = $1 AND status = 'confirmed')::int AS revenue`,
      [eventId],
    );
    return row;
  }

  it('gives every current event its counts, revenue, waitlist and check-ins, soonest first', async () => {
    const response = await testApp
      .http()
      .get('/api/v1/admin/stats')
      .set('Authorization', `Bearer ${admin.token}`)
      .expect(200);
    const { events } = response.body as { events: Record<string, unknown>[] };
    expect(events.map((event) => event.name)).toEqual(['Stats Concert', 'Quiet Evening']);

    const truth = await fromRows(concert.id);
    expect(truth.sold).toBeGreaterThan(0);
    expect(truth.locked).toBeGreaterThan(0);
    expect(events[0]).toEqual({
      id: concert.id,
      name: 'Stats Concert',
      startsAt: expect.any(String),
      status: 'on_sale',
      currency: 'eur',
      ...truth,
      waitlist: 2,
      checkedIn: expect.any(Number),
    });
    const [{ checkedIn }]: { checkedIn: number }[] = await testApp.dataSource.query(
      `SELECT count(*)::int AS "checkedIn" FROM check_ins WHERE event_id = $1`,
      [concert.id],
    );
    expect(checkedIn).toBeGreaterThan(0);
    expect(events[0].checkedIn).toBe(checkedIn);
    expect(events[1]).toMatchObject({
      id: quiet.id,
      sold: 0,
      locked: 0,
      available: 100,
      revenue: 0,
      currency: 'usd',
      waitlist: 0,
      checkedIn: 0,
    });
  });

  it('counts the job rows left for a human', async () => {
    const response = await testApp
      .http()
      .get('/api/v1/admin/stats')
      .set('Authorization', `Bearer ${admin.token}`)
      .expect(200);
    expect(response.body.jobsNeedingAttention).toEqual([{ job: 'owed-refund', rows: 1 }]);
    const metrics = await testApp.http().get('/metrics').expect(200);
    expect(metrics.text).toContain('ticketing_job_rows_needing_attention{job="owed-refund"} 1');
  });

  it('gives tickets paid per minute over the last hour, the current minute last', async () => {
    const response = await testApp
      .http()
      .get('/api/v1/admin/stats')
      .set('Authorization', `Bearer ${admin.token}`)
      .expect(200);
    const { salesPerMinute, at } = response.body as {
      salesPerMinute: { minute: string; tickets: number }[];
      at: string;
    };
    expect(salesPerMinute).toHaveLength(60);
    const minutes = salesPerMinute.map((entry) => Date.parse(entry.minute));
    for (let i = 1; i < minutes.length; i += 1) expect(minutes[i] - minutes[i - 1]).toBe(60_000);
    expect(Date.parse(at) - minutes[59]).toBeLessThan(60_000);
    expect(salesPerMinute.reduce((sum, entry) => sum + entry.tickets, 0)).toBe(
      (await fromRows(concert.id)).sold,
    );
  });

  it('is for admins only: 401 anonymous or with a bad token, 403 for a customer', async () => {
    expectProblem(await testApp.http().get('/api/v1/admin/stats'), 401);
    expectProblem(
      await testApp
        .http()
        .get('/api/v1/admin/stats')
        .set('Authorization', `Bearer ${randomUUID()}`),
      401,
    );
    expectProblem(
      await testApp
        .http()
        .get('/api/v1/admin/stats')
        .set('Authorization', `Bearer ${customer.token}`),
      403,
    );
  });
});
