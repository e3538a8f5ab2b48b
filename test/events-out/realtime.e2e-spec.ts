import { io, type Socket } from 'socket.io-client';
import { AvailabilityGateway } from '@app/realtime';
import { book, createBuyers, createEvent, type TestEvent } from '../support/booking';
import { eventually } from '../support/eventually';
import { RedisServer } from '../support/redis-server';
import { createUser, startTestApp, type TestApp, type TestUser } from '../support/test-app';

interface Availability {
  eventId: string;
  ticketTypes: { id: string; available: number; locked: number; sold: number }[];
  at: string;
}

/** A socket.io client of one instance's /availability namespace, recording what it gets. */
class Watcher {
  readonly received: Availability[] = [];
  readonly exceptions: { status: string; message: string; errors?: unknown[] }[] = [];
  readonly socket: Socket;

  constructor(url: string, token?: string) {
    this.socket = io(`${url}/availability`, {
      transports: ['websocket'],
      reconnection: false,
      auth: token === undefined ? {} : { token },
    });
    this.socket.on('availability', (message: Availability) => this.received.push(message));
    this.socket.on('exception', (error: Watcher['exceptions'][number]) =>
      this.exceptions.push(error),
    );
  }

  connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', reject);
    });
  }

  of(eventId: string): Availability[] {
    return this.received.filter((message) => message.eventId === eventId);
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** The counts PostgreSQL has now, in the socket's shape. */
async function countsInDatabase(testApp: TestApp, event: TestEvent) {
  const rows: Availability['ticketTypes'] = await testApp.dataSource.query(
    `SELECT tt.id, sum(c.available)::int AS available, sum(c.locked)::int AS locked,
            sum(c.sold)::int AS sold
     FROM ticket_types tt JOIN ticket_type_counters c ON c.ticket_type_id = tt.id
     WHERE tt.event_id = $1 GROUP BY tt.id, tt.position ORDER BY tt.position`,
    [event.id],
  );
  return rows;
}

/**
 * Live availability over socket.io, on two instances sharing PostgreSQL and a private Redis
 * (socket.io's Redis adapter uses pub/sub, which ignores Redis database numbers).
 */
describe('real-time availability (socket.io)', () => {
  let redisServer: RedisServer;
  let a: TestApp;
  let b: TestApp;
  let admin: TestUser;
  const watchers: Watcher[] = [];

  const watch = async (testApp: TestApp, token?: string) => {
    const watcher = new Watcher(testApp.url, token);
    watchers.push(watcher);
    await watcher.connected();
    return watcher;
  };

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    const settings = { REDIS_URL: redisServer.url, AUTH_RATE_LIMIT: '0' };
    a = await startTestApp(settings);
    b = await startTestApp(settings);
    admin = await createUser(a, { admin: true });
  });
  afterAll(async () => {
    for (const watcher of watchers) watcher.close();
    await a?.close();
    await b?.close();
    await redisServer?.stop();
  });

  it('answers a subscription at once with the counts of every ticket type', async () => {
    const event = await createEvent(a, admin, {
      ticketTypes: [
        { name: 'General Admission', price: 2500, quantity: 30 },
        { name: 'VIP', price: 9000, quantity: 4 },
      ],
    });
    const watcher = await watch(a);
    watcher.socket.emit('subscribe', { eventId: event.id });
    const [snapshot] = await eventually(
      () => watcher.of(event.id).length > 0 && watcher.of(event.id),
    );
    expect(snapshot).toEqual({
      eventId: event.id,
      ticketTypes: [
        { id: event.ticketTypes[0].id, available: 30, locked: 0, sold: 0 },
        { id: event.ticketTypes[1].id, available: 4, locked: 0, sold: 0 },
      ],
      at: expect.any(String),
    });
    expect(watcher.exceptions).toEqual([]);
  });

  it('answers bad input with an exception event and keeps the connection', async () => {
    const event = await createEvent(a, admin);
    const watcher = await watch(a);
    const bad: unknown[] = [
      'not an object',
      42,
      null,
      {},
      { eventId: 'not-a-uuid' },
      { eventId: event.id, extra: true },
      { eventId: '00000000-0000-4000-8000-000000000000' },
    ];
    for (const payload of bad) watcher.socket.emit('subscribe', payload);
    watcher.socket.emit('unsubscribe', { eventId: 7 });
    await eventually(() => watcher.exceptions.length >= bad.length + 1, {
      what: 'an exception per bad message',
    });
    expect(watcher.exceptions).toHaveLength(bad.length + 1);
    for (const exception of watcher.exceptions) {
      expect(exception).toEqual(
        expect.objectContaining({ status: 'error', message: expect.any(String) }),
      );
      expect(exception.message).not.toMatch(/Internal server error/);
    }
    expect(JSON.stringify(watcher.exceptions)).toContain('eventId');
    expect(JSON.stringify(watcher.exceptions)).toContain('No event 00000000-');
    expect(watcher.received).toEqual([]);

    // Still connected and serving.
    expect(watcher.socket.connected).toBe(true);
    watcher.socket.emit('subscribe', { eventId: event.id });
    await eventually(() => watcher.of(event.id).length >= 1);
  });

  it('200 parallel bookings: the last message equals the database, far fewer messages than bookings', async () => {
    const event = await createEvent(a, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 1000 }],
    });
    const watcher = await watch(a);
    watcher.socket.emit('subscribe', { eventId: event.id });
    await eventually(() => watcher.of(event.id).length >= 1);

    const buyers = await createBuyers(a, 200);
    const answers = await Promise.all(
      buyers.map((buyer, i) =>
        book(a, buyer, event.id, { ticketTypeId: event.ticketTypes[0].id, quantity: 1 + (i % 3) }),
      ),
    );
    expect(answers.every((answer) => answer.status === 201)).toBe(true);
    const held = answers.reduce((sum, answer) => sum + (answer.body.order.quantity as number), 0);

    const expected = await countsInDatabase(a, event);
    expect(expected).toEqual([
      { id: event.ticketTypes[0].id, available: 1000 - held, locked: held, sold: 0 },
    ]);
    await eventually(
      () => JSON.stringify(watcher.of(event.id).at(-1)?.ticketTypes) === JSON.stringify(expected),
      { what: 'the last message to equal the database', timeoutMs: 15_000 },
    );
    const messages = watcher.of(event.id);
    // The snapshot, then coalesced updates (≤ 4 a second), each newer than the one before.
    expect(messages.length).toBeLessThan(60);
    expect(messages.map((m) => m.at)).toEqual([...messages.map((m) => m.at)].sort());
  });

  it('a client of instance B sees bookings made through instance A', async () => {
    const event = await createEvent(a, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 20 }],
    });
    const onB = await watch(b);
    onB.socket.emit('subscribe', { eventId: event.id });
    await eventually(() => onB.of(event.id).length >= 1);

    const [buyer] = await createBuyers(a, 1);
    await book(a, buyer, event.id, { ticketTypeId: event.ticketTypes[0].id, quantity: 3 }).expect(
      201,
    );
    const update = await eventually(
      () => onB.of(event.id).find((m) => m.ticketTypes[0].locked === 3),
      { what: 'the booking through A on B' },
    );
    expect(update.ticketTypes).toEqual([
      { id: event.ticketTypes[0].id, available: 17, locked: 3, sold: 0 },
    ]);

    // Unsubscribed: no more updates for that event.
    onB.socket.emit('unsubscribe', { eventId: event.id });
    const seen = onB.of(event.id).length;
    const watcherOnA = await watch(a);
    watcherOnA.socket.emit('subscribe', { eventId: event.id });
    await eventually(() => watcherOnA.of(event.id).length >= 1);
    const [other] = await createBuyers(a, 1);
    await book(a, other, event.id, { ticketTypeId: event.ticketTypes[0].id, quantity: 1 }).expect(
      201,
    );
    await eventually(() => watcherOnA.of(event.id).some((m) => m.ticketTypes[0].locked === 4));
    expect(onB.of(event.id)).toHaveLength(seen);
  });

  it("reaches a signed-in user's sockets on every instance (the waitlist_offer hook)", async () => {
    const [buyer, other] = await createBuyers(a, 2);
    const onB = await watch(b, buyer.token);
    const otherOnA = await watch(a, other.token);
    const anonymous = await watch(a);
    const offers: unknown[] = [];
    const othersOffers: unknown[] = [];
    onB.socket.on('waitlist_offer', (offer: unknown) => offers.push(offer));
    otherOnA.socket.on('waitlist_offer', (offer: unknown) => othersOffers.push(offer));
    anonymous.socket.on('waitlist_offer', (offer: unknown) => othersOffers.push(offer));

    const offer = { entryId: 'e1', orderId: 'o1', expiresAt: new Date().toISOString() };
    a.app.get(AvailabilityGateway).notifyUser(buyer.id, 'waitlist_offer', offer);
    await eventually(() => offers.length === 1, { what: 'the offer on instance B' });
    expect(offers).toEqual([offer]);
    expect(othersOffers).toEqual([]);

    const forged = await watch(a, 'not-a-token');
    await eventually(() => forged.exceptions.length >= 1);
    expect(forged.exceptions[0].message).toMatch(/token/);
    expect(forged.socket.connected).toBe(true);
  });
});
