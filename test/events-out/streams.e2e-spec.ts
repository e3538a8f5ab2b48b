import type Redis from 'ioredis';
import { HoldExpiryJob } from '@app/orders';
import { createBuyers, createEvent, book, type TestEvent } from '../support/booking';
import { eventually } from '../support/eventually';
import { freshDatabase } from '../support/fresh-database';
import { payWithSimulator } from '../support/simulator';
import { messagesOfOrder, streamClient } from '../support/streams';
import { createUser, startTestApp, type TestApp, type TestUser } from '../support/test-app';

const TICKET_TYPE_COUNTS = {
  id: expect.any(String),
  available: expect.any(Number),
  locked: expect.any(Number),
  sold: expect.any(Number),
};

/**
 * Every change reaches its Redis Stream once, in the shape of libs/outbox/src/outbox-message.ts:
 * read back with XRANGE, as any other service would.
 */
describe('events out: one message per change on the right stream', () => {
  let testApp: TestApp;
  let redis: Redis;
  let admin: TestUser;
  let event: TestEvent;

  beforeAll(async () => {
    // A database of its own: the payment simulator's jobs act on every order.
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `${url.pathname}_events_out`;
    await freshDatabase(url);
    testApp = await startTestApp({ DATABASE_URL: url.toString(), AUTH_RATE_LIMIT: '0' });
    redis = streamClient();
    admin = await createUser(testApp, { admin: true });
    event = await createEvent(testApp, admin, {
      ticketTypes: [
        { name: 'General Admission', price: 2500, quantity: 50 },
        { name: 'VIP', price: 9000, quantity: 5 },
      ],
    });
  });
  afterAll(async () => {
    redis.disconnect();
    await testApp.close();
  });

  async function hold(quantity: number) {
    const [buyer] = await createBuyers(testApp, 1);
    const response = await book(testApp, buyer, event.id, {
      ticketTypeId: event.ticketTypes[0].id,
      quantity,
    }).expect(201);
    return {
      buyer,
      orderId: response.body.order.id as string,
      checkoutUrl: response.body.checkoutUrl as string,
    };
  }

  /** The order's messages on both streams once `count` availability ones have arrived. */
  async function published(orderId: string, count: number) {
    const availability = await eventually(
      async () => {
        const messages = await messagesOfOrder(redis, 'ticket_availability', orderId);
        return messages.length >= count && messages;
      },
      { what: `${count} availability message(s) of order ${orderId}` },
    );
    const payments = await messagesOfOrder(redis, 'payment_notifications', orderId);
    return { availability, payments };
  }

  async function countsOfType(ticketTypeId: string) {
    const [row]: { available: number; locked: number; sold: number }[] =
      await testApp.dataSource.query(
        `SELECT sum(available)::int AS available, sum(locked)::int AS locked, sum(sold)::int AS sold
         FROM ticket_type_counters WHERE ticket_type_id = $1`,
        [ticketTypeId],
      );
    return row;
  }

  it('a booking: one `locked` message carrying every ticket type of the event with its counts', async () => {
    const held = await hold(3);
    const { availability, payments } = await published(held.orderId, 1);

    expect(availability).toEqual([
      {
        type: 'locked',
        eventId: event.id,
        orderId: held.orderId,
        quantity: 3,
        outboxId: expect.stringMatching(/^\d+$/),
        at: expect.any(String),
        ticketTypes: [TICKET_TYPE_COUNTS, TICKET_TYPE_COUNTS],
      },
    ]);
    expect(new Date(availability[0].at).toISOString()).toBe(availability[0].at);
    expect(availability[0].ticketTypes.map((type) => type.id)).toEqual(
      event.ticketTypes.map((type) => type.id),
    );
    // Read after the hold committed: it is in the counts.
    expect(availability[0].ticketTypes[0].locked).toBeGreaterThanOrEqual(3);
    expect(availability[0].ticketTypes[1]).toEqual({
      id: event.ticketTypes[1].id,
      available: 5,
      locked: 0,
      sold: 0,
    });
    expect(payments).toEqual([]);
    // Marked published in PostgreSQL, once: the relay commits the mark after the stream has the
    // message, so the mark may land a moment after the message is read.
    const rows = await eventually(
      async () => {
        const found: { published: boolean }[] = await testApp.dataSource.query(
          `SELECT published_at IS NOT NULL AS published FROM outbox WHERE payload->>'orderId' = $1`,
          [held.orderId],
        );
        return found.every((row) => row.published) && found;
      },
      { what: `the outbox row of order ${held.orderId} marked published` },
    );
    expect(rows).toEqual([{ published: true }]);
  });

  it('a payment: one `sold` message and one `succeeded` notification', async () => {
    const held = await hold(2);
    await payWithSimulator(testApp, held.checkoutUrl);
    const { availability, payments } = await published(held.orderId, 2);

    expect(availability.map((m) => m.type)).toEqual(['locked', 'sold']);
    expect(availability[1]).toMatchObject({
      eventId: event.id,
      orderId: held.orderId,
      quantity: 2,
    });
    expect(availability[1].ticketTypes[0].sold).toBeGreaterThanOrEqual(2);
    expect(payments).toEqual([
      {
        type: 'succeeded',
        orderId: held.orderId,
        userId: held.buyer.id,
        eventId: event.id,
        amount: 5000,
        currency: 'usd',
        outboxId: expect.stringMatching(/^\d+$/),
        at: expect.any(String),
      },
    ]);
    expect(Number(payments[0].outboxId)).toBeGreaterThan(0);
  });

  it('a cancel: one `unlocked` message, reason `cancelled`', async () => {
    const held = await hold(1);
    await testApp
      .http()
      .post(`/api/v1/orders/${held.orderId}/cancel`)
      .set('Authorization', `Bearer ${held.buyer.token}`)
      .expect(200);
    const { availability, payments } = await published(held.orderId, 2);

    expect(availability.map((m) => m.type)).toEqual(['locked', 'unlocked']);
    expect(availability[1]).toMatchObject({
      eventId: event.id,
      orderId: held.orderId,
      quantity: 1,
      reason: 'cancelled',
    });
    expect(payments).toEqual([]);
  });

  it('an expiry: one `unlocked` message, reason `expired`, counts without the hold', async () => {
    const held = await hold(4);
    // The hold's time is up (set in the past rather than waited for); the real job ends it.
    await testApp.dataSource.query(
      `UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [held.orderId],
    );
    await testApp.app.get(HoldExpiryJob).run();
    const { availability, payments } = await published(held.orderId, 2);

    expect(availability.map((m) => m.type)).toEqual(['locked', 'unlocked']);
    expect(availability[1]).toMatchObject({
      orderId: held.orderId,
      quantity: 4,
      reason: 'expired',
    });
    expect(payments).toEqual([]);
    await eventually(async () => {
      const last = (await messagesOfOrder(redis, 'ticket_availability', held.orderId)).at(-1)!;
      const now = await countsOfType(event.ticketTypes[0].id);
      // No other change of the event is in flight: the message's counts are the database's.
      return (
        JSON.stringify(last.ticketTypes[0]) ===
        JSON.stringify({ id: event.ticketTypes[0].id, ...now })
      );
    });
  });

  it('a refund: one `unlocked` message, reason `refunded`, and one `refunded` notification', async () => {
    const held = await hold(2);
    await payWithSimulator(testApp, held.checkoutUrl);
    await testApp
      .http()
      .post(`/api/v1/orders/${held.orderId}/cancel`)
      .set('Authorization', `Bearer ${held.buyer.token}`)
      .expect(200);
    const { availability, payments } = await published(held.orderId, 3);

    expect(availability.map((m) => m.type)).toEqual(['locked', 'sold', 'unlocked']);
    expect(availability[2]).toMatchObject({
      orderId: held.orderId,
      quantity: 2,
      reason: 'refunded',
    });
    expect(payments.map((m) => m.type)).toEqual(['succeeded', 'refunded']);
    expect(payments[1]).toMatchObject({ orderId: held.orderId, amount: 5000, currency: 'usd' });
  });
});
