import { io, type Socket } from 'socket.io-client';
import { book, createBuyers, createEvent } from '../support/booking';
import { eventually } from '../support/eventually';
import { freshDatabase } from '../support/fresh-database';
import {
  PROBE_APPLIED_TABLE,
  probeConsumerModule,
  type ConsumerFaults,
} from '../support/probe-consumer';
import { createUser, startTestApp, type TestApp } from '../support/test-app';

/**
 * No REDIS_URL (the embedded mode's bus): the in-process bus carries the same messages to the
 * same consumers — the socket, the metrics, a consumer recording what it applied.
 */
describe('events out without Redis (in-process bus)', () => {
  let testApp: TestApp;
  let socket: Socket;
  const faults: ConsumerFaults = { failNext: 0 };

  beforeAll(async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `${url.pathname}_in_process`;
    await freshDatabase(url);
    testApp = await startTestApp(
      { DATABASE_URL: url.toString(), REDIS_URL: '', AUTH_RATE_LIMIT: '0' },
      { imports: [probeConsumerModule('solo', faults)] },
    );
    await testApp.dataSource.query(PROBE_APPLIED_TABLE);
  });
  afterAll(async () => {
    socket?.disconnect();
    await testApp?.close();
  });

  it('relays a booking to the socket, the metrics and a consumer, marking it published', async () => {
    const admin = await createUser(testApp, { admin: true });
    const event = await createEvent(testApp, admin);
    const received: { ticketTypes: { locked: number }[] }[] = [];
    socket = io(`${testApp.url}/availability`, { transports: ['websocket'], reconnection: false });
    socket.on('availability', (message: (typeof received)[number]) => received.push(message));
    socket.emit('subscribe', { eventId: event.id });
    await eventually(() => received.length >= 1);

    // The first delivery fails: the relay publishes again, the consumer applies it once.
    faults.failNext = 1;
    const [buyer] = await createBuyers(testApp, 1);
    await book(testApp, buyer, event.id, {
      ticketTypeId: event.ticketTypes[0].id,
      quantity: 2,
    }).expect(201);

    await eventually(() => received.at(-1)?.ticketTypes[0].locked === 2, {
      what: 'the socket update',
    });
    // Marked once every consumer has handled it (the relay commits after the bus returns).
    const [published] = await eventually(async () => {
      const rows: { id: string; published: boolean }[] = await testApp.dataSource.query(
        `SELECT id::text, published_at IS NOT NULL AS published FROM outbox
         WHERE payload->>'eventId' = $1 AND payload->>'type' = 'locked'`,
        [event.id],
      );
      return rows.length === 1 && rows[0].published && rows;
    });
    expect(faults.failNext).toBe(0);
    const applied: { outboxId: string }[] = await testApp.dataSource.query(
      `SELECT outbox_id::text AS "outboxId" FROM probe_applied WHERE outbox_id = $1`,
      [published.id],
    );
    expect(applied).toEqual([{ outboxId: published.id }]);

    const metrics = await testApp.http().get('/metrics').expect(200);
    // The other groups handled it once, although the batch was published twice.
    expect(metrics.text).toMatch(/^ticketing_holds_total 1$/m);
  });
});
