import { randomUUID } from 'node:crypto';
import { TICKET_LABEL_SQL } from '@app/tickets';
import { freeInLockStore, orderOf, ticketCounts } from '../support/booking-checks';
import {
  book,
  createBuyers,
  createEvent,
  expectInventoryConsistent,
  type TestEvent,
} from '../support/booking';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

const DAY_MS = 24 * 3600 * 1000;

interface TicketTypeBody {
  id: string;
  name: string;
  price: number;
  quantity: number;
  available: number;
  locked: number;
  sold: number;
}

interface EventBody {
  id: string;
  name: string;
  description: string | null;
  venue: string;
  startsAt: string;
  currency: string;
  maxTicketsPerOrder: number;
  status: string;
  ticketTypes: TicketTypeBody[];
  createdAt: string;
  updatedAt: string;
}

interface TicketBody {
  id: string;
  ticketTypeId: string;
  label: string;
  status: string;
}

interface PageBody<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

/** The label the API documents: the type's prefix, a dash, the serial in at least 6 digits. */
function label(prefix: string, serial: number): string {
  return `${prefix}-${String(serial).padStart(6, '0')}`;
}

function prefixOf(ticket: TicketBody): string {
  return ticket.label.slice(0, ticket.label.lastIndexOf('-'));
}

function serialOf(ticket: TicketBody): number {
  return Number(ticket.label.slice(ticket.label.lastIndexOf('-') + 1));
}

describe('events', () => {
  let testApp: TestApp;
  let admin: TestUser;
  let customer: TestUser;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0' });
    admin = await createUser(testApp, { admin: true });
    customer = await createUser(testApp);
  });
  afterAll(() => testApp.close());

  const inDays = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString();

  function validBody(overrides: Record<string, unknown> = {}) {
    return {
      name: `Concert ${randomUUID().slice(0, 8)}`,
      venue: 'Arena',
      startsAt: inDays(30),
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 10 }],
      ...overrides,
    };
  }

  function post(body: object, token = admin.token) {
    return testApp.http().post('/api/v1/events').set('Authorization', `Bearer ${token}`).send(body);
  }

  function patch(path: string, body: object, token = admin.token) {
    return testApp
      .http()
      .patch(`/api/v1/events/${path}`)
      .set('Authorization', `Bearer ${token}`)
      .send(body);
  }

  async function getEvent(id: string): Promise<EventBody> {
    return (await testApp.http().get(`/api/v1/events/${id}`).expect(200)).body as EventBody;
  }

  async function tickets(eventId: string, query: string): Promise<PageBody<TicketBody>> {
    const response = await testApp.http().get(`/api/v1/events/${eventId}/tickets?${query}`);
    expect(response.status).toBe(200);
    return response.body as PageBody<TicketBody>;
  }

  describe('create', () => {
    it('creates an event with its ticket types, defaults and counts', async () => {
      const body = validBody({
        description: 'Doors at seven',
        ticketTypes: [
          { name: 'General Admission', price: 2500, quantity: 100 },
          { name: 'VIP', price: 0, quantity: 1 },
        ],
      });
      const response = await post(body);
      expect(response.status).toBe(201);
      const event = response.body as EventBody;
      expect(event).toEqual({
        id: expect.any(String),
        name: body.name,
        description: 'Doors at seven',
        venue: 'Arena',
        startsAt: body.startsAt,
        currency: 'usd',
        maxTicketsPerOrder: 10,
        status: 'on_sale',
        ticketTypes: [
          {
            id: expect.any(String),
            name: 'General Admission',
            price: 2500,
            quantity: 100,
            available: 100,
            locked: 0,
            sold: 0,
          },
          {
            id: expect.any(String),
            name: 'VIP',
            price: 0,
            quantity: 1,
            available: 1,
            locked: 0,
            sold: 0,
          },
        ],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(await getEvent(event.id)).toEqual(event);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('takes the limits themselves: 20 types, currency, per-order maximum', async () => {
      const ticketTypes = Array.from({ length: 20 }, (_, i) => ({
        name: `Block ${i + 1}`,
        price: i * 100,
        quantity: 1 + i,
      }));
      const response = await post(
        validBody({ ticketTypes, currency: 'eur', maxTicketsPerOrder: 50 }),
      );
      expect(response.status).toBe(201);
      const event = response.body as EventBody;
      expect(event.currency).toBe('eur');
      expect(event.maxTicketsPerOrder).toBe(50);
      expect(event.ticketTypes.map((type) => type.name)).toEqual(ticketTypes.map((t) => t.name));
      expect(event.ticketTypes.map((type) => type.available)).toEqual(
        ticketTypes.map((t) => t.quantity),
      );
    });

    const tooMany = Array.from({ length: 21 }, (_, i) => ({
      name: `Block ${i + 1}`,
      price: 100,
      quantity: 1,
    }));
    it.each<[string, Record<string, unknown>, string]>([
      ['a start in the past', { startsAt: inDays(-1) }, 'startsAt'],
      ['a start that is not a date', { startsAt: 'next friday' }, 'startsAt'],
      ['an upper-case currency', { currency: 'USD' }, 'currency'],
      ['a two-letter currency', { currency: 'us' }, 'currency'],
      [
        'a negative price',
        { ticketTypes: [{ name: 'GA', price: -1, quantity: 1 }] },
        'ticketTypes[0].price',
      ],
      [
        'a fractional price',
        { ticketTypes: [{ name: 'GA', price: 9.99, quantity: 1 }] },
        'ticketTypes[0].price',
      ],
      [
        'a quantity of 0',
        { ticketTypes: [{ name: 'GA', price: 100, quantity: 0 }] },
        'ticketTypes[0].quantity',
      ],
      [
        'a quantity over 1,000,000',
        { ticketTypes: [{ name: 'GA', price: 100, quantity: 1_000_001 }] },
        'ticketTypes[0].quantity',
      ],
      ['no ticket types', { ticketTypes: [] }, 'ticketTypes'],
      ['21 ticket types', { ticketTypes: tooMany }, 'ticketTypes'],
      [
        'duplicate ticket type names',
        {
          ticketTypes: [
            { name: 'VIP', price: 100, quantity: 1 },
            { name: ' VIP ', price: 200, quantity: 1 },
          ],
        },
        'ticketTypes[1].name',
      ],
      [
        'more than 1,000,000 tickets in all',
        {
          ticketTypes: [
            { name: 'A', price: 100, quantity: 600_000 },
            { name: 'B', price: 100, quantity: 600_000 },
          ],
        },
        'ticketTypes',
      ],
      ['a per-order maximum of 0', { maxTicketsPerOrder: 0 }, 'maxTicketsPerOrder'],
      ['a per-order maximum of 51', { maxTicketsPerOrder: 51 }, 'maxTicketsPerOrder'],
      ['an empty name', { name: '   ' }, 'name'],
      ['no venue', { venue: undefined }, 'venue'],
      ['an unknown field', { capacity: 10 }, 'capacity'],
    ])('rejects %s with 400', async (_case, overrides, field) => {
      const description = `attempt ${randomUUID()}`;
      const response = await post(validBody({ description, ...overrides }));
      const problem = expectProblem(response, 400);
      expect(problem.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      // Nothing was written.
      const [{ count }] = await testApp.dataSource.query(
        `SELECT count(*)::int AS count FROM events WHERE description = $1`,
        [description],
      );
      expect(count).toBe(0);
    });

    it('lists every invalid field at once', async () => {
      const response = await post({
        name: '',
        venue: 'Arena',
        startsAt: inDays(-2),
        currency: 'EUR',
        ticketTypes: [{ name: 'GA', price: -5, quantity: 0 }],
      });
      const fields = (expectProblem(response, 400).errors as { field: string }[]).map(
        (e) => e.field,
      );
      expect(fields).toEqual(
        expect.arrayContaining([
          'name',
          'startsAt',
          'currency',
          'ticketTypes[0].price',
          'ticketTypes[0].quantity',
        ]),
      );
    });
  });

  /** Stripe refuses to charge less than its per-currency minimum or more than eight digits. */
  describe('prices Stripe can charge', () => {
    const type = (price: number) => [{ name: 'General Admission', price, quantity: 1 }];

    it.each<[string, string, number]>([
      ['free', 'usd', 0],
      ["usd's minimum", 'usd', 50],
      ["eur's minimum", 'eur', 50],
      ["gbp's minimum", 'gbp', 30],
      ["jpy's minimum (zero-decimal: ¥50)", 'jpy', 50],
      ["huf's minimum (175.00 Ft)", 'huf', 17_500],
      ['the most Stripe takes', 'usd', 99_999_999],
    ])('accepts %s', async (_case, currency, price) => {
      const response = await post(validBody({ currency, ticketTypes: type(price) }));
      expect(response.status).toBe(201);
      expect(response.body.ticketTypes[0].price).toBe(price);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['1 cent in usd', { ticketTypes: type(1) }, 'ticketTypes[0].price'],
      ['49 in usd', { ticketTypes: type(49) }, 'ticketTypes[0].price'],
      ['49 in eur', { currency: 'eur', ticketTypes: type(49) }, 'ticketTypes[0].price'],
      ['14.99 Kč', { currency: 'czk', ticketTypes: type(1_499) }, 'ticketTypes[0].price'],
      ['¥49', { currency: 'jpy', ticketTypes: type(49) }, 'ticketTypes[0].price'],
      ['100,000,000 (nine digits)', { ticketTypes: type(100_000_000) }, 'ticketTypes[0].price'],
      ['a currency Stripe publishes no minimum for', { currency: 'krw' }, 'currency'],
    ])(
      'refuses %s with 400, the field listed, nothing written',
      async (_case, overrides, field) => {
        const description = `price attempt ${randomUUID()}`;
        const problem = expectProblem(await post(validBody({ description, ...overrides })), 400);
        expect(problem.errors).toEqual([
          { field, message: expect.stringMatching(/^(price|currency) must /) },
        ]);
        const [{ count }] = await testApp.dataSource.query(
          `SELECT count(*)::int AS count FROM events WHERE description = $1`,
          [description],
        );
        expect(count).toBe(0);
      },
    );

    it('lists each unchargeable type, and says what the currency allows', async () => {
      const problem = expectProblem(
        await post(
          validBody({
            currency: 'czk',
            ticketTypes: [
              { name: 'Standing', price: 1_500, quantity: 1 },
              { name: 'Kids', price: 500, quantity: 1 },
              { name: 'Press', price: 0, quantity: 1 },
              { name: 'Cheap', price: 1, quantity: 1 },
            ],
          }),
        ),
        400,
      );
      expect(problem.type).toBe('urn:tickets:problem:event.price_not_chargeable');
      expect(problem.errors).toEqual([
        {
          field: 'ticketTypes[1].price',
          message:
            'price must be 0 (free) or from 1500, the smallest amount Stripe charges in czk, up to 99999999',
        },
        { field: 'ticketTypes[3].price', message: expect.stringContaining('from 1500') },
      ]);
    });

    it('checks added types, repriced types and a new currency against the event currency', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 1_000, quantity: 5 }],
      });
      const typeId = event.ticketTypes[0].id;
      const add = (body: object) =>
        testApp
          .http()
          .post(`/api/v1/events/${event.id}/ticket-types`)
          .set('Authorization', `Bearer ${admin.token}`)
          .send(body);
      const fieldsOf = (problem: Record<string, unknown>) =>
        (problem.errors as { field: string }[]).map((error) => error.field);

      expect(
        fieldsOf(expectProblem(await add({ name: 'Cheap', price: 49, quantity: 1 }), 400)),
      ).toEqual(['price']);
      expect(
        fieldsOf(expectProblem(await add({ name: 'Dear', price: 100_000_000, quantity: 1 }), 400)),
      ).toEqual(['price']);
      expect(
        fieldsOf(
          expectProblem(await patch(`${event.id}/ticket-types/${typeId}`, { price: 30 }), 400),
        ),
      ).toEqual(['price']);
      // 1,000 is 10.00 Kč, below czk's 15.00 Kč; in gbp, 30 (£0.30) is the minimum.
      expect(fieldsOf(expectProblem(await patch(event.id, { currency: 'czk' }), 400))).toEqual([
        'currency',
      ]);
      await patch(event.id, { currency: 'gbp' }).expect(200);
      await patch(`${event.id}/ticket-types/${typeId}`, { price: 30 }).expect(200);
      await add({ name: 'Free', price: 0, quantity: 1 }).expect(201);

      const current = await getEvent(event.id);
      expect(current.currency).toBe('gbp');
      expect(current.ticketTypes.map((t) => [t.name, t.price])).toEqual([
        ['General Admission', 30],
        ['Free', 0],
      ]);
    });
  });

  describe('who may write', () => {
    let event: TestEvent;
    beforeAll(async () => {
      event = await createEvent(testApp, admin);
    });

    it('a customer cannot create or change events (403)', async () => {
      expectProblem(await post(validBody(), customer.token), 403);
      expectProblem(await patch(event.id, { name: 'Mine now' }, customer.token), 403);
      expectProblem(
        await testApp
          .http()
          .post(`/api/v1/events/${event.id}/ticket-types`)
          .set('Authorization', `Bearer ${customer.token}`)
          .send({ name: 'Backstage', price: 100, quantity: 1 }),
        403,
      );
      expectProblem(
        await patch(
          `${event.id}/ticket-types/${event.ticketTypes[0].id}`,
          { quantity: 1 },
          customer.token,
        ),
        403,
      );
      const unchanged = await getEvent(event.id);
      expect(unchanged.name).not.toBe('Mine now');
      expect(unchanged.ticketTypes).toHaveLength(1);
      expect(unchanged.ticketTypes[0].quantity).toBe(event.ticketTypes[0].quantity);
    });

    it('without a token: 401 for writes, reads are public', async () => {
      expectProblem(await testApp.http().post('/api/v1/events').send(validBody()), 401);
      expectProblem(
        await testApp.http().patch(`/api/v1/events/${event.id}`).send({ name: 'x' }),
        401,
      );
      await testApp.http().get(`/api/v1/events/${event.id}`).expect(200);
      await testApp.http().get('/api/v1/events').expect(200);
      await testApp.http().get(`/api/v1/events/${event.id}/tickets`).expect(200);
    });
  });

  describe('list', () => {
    const token = randomUUID().slice(0, 8);
    let events: EventBody[];

    beforeAll(async () => {
      // Created out of order; names or venues carry the token.
      const bodies = [
        validBody({ name: `Late show ${token}`, startsAt: inDays(40) }),
        validBody({ name: 'Early show', venue: `Hall ${token}`, startsAt: inDays(10) }),
        validBody({ name: `Middle SHOW ${token.toUpperCase()}`, startsAt: inDays(20) }),
        validBody({ name: `Far show ${token}`, startsAt: inDays(60) }),
      ];
      events = [];
      for (const body of bodies) events.push((await post(body).expect(201)).body as EventBody);
    });

    async function list(query: string): Promise<PageBody<EventBody>> {
      const response = await testApp.http().get(`/api/v1/events?${query}`);
      expect(response.status).toBe(200);
      return response.body as PageBody<EventBody>;
    }

    it('finds events by name or venue, case-insensitively, soonest first', async () => {
      const page = await list(`q=${token}`);
      const expected = [...events].sort((a, b) => a.startsAt.localeCompare(b.startsAt));
      expect(page.items.map((event) => event.id)).toEqual(expected.map((event) => event.id));
      expect(page).toEqual(
        expect.objectContaining({ page: 1, pageSize: 20, total: events.length }),
      );
      // Items are whole events, with their live counts.
      expect(page.items[0]).toEqual(await getEvent(page.items[0].id));
    });

    it('pages through the matches with the total', async () => {
      const sorted = [...events].sort((a, b) => a.startsAt.localeCompare(b.startsAt));
      const first = await list(`q=${token}&pageSize=3&page=1`);
      const second = await list(`q=${token}&pageSize=3&page=2`);
      expect(first.total).toBe(events.length);
      expect(second.total).toBe(events.length);
      expect(first.items.map((e) => e.id)).toEqual(sorted.slice(0, 3).map((e) => e.id));
      expect(second.items.map((e) => e.id)).toEqual(sorted.slice(3).map((e) => e.id));
      expect((await list(`q=${token}&pageSize=3&page=3`)).items).toEqual([]);
    });

    it('filters by start: from (inclusive) and to (exclusive)', async () => {
      const [late, early, middle, far] = events;
      const window = await list(
        `q=${token}&from=${encodeURIComponent(middle.startsAt)}&to=${encodeURIComponent(far.startsAt)}`,
      );
      expect(window.items.map((e) => e.id)).toEqual([middle.id, late.id]);
      expect(window.total).toBe(2);
      const until = await list(`q=${token}&to=${encodeURIComponent(middle.startsAt)}`);
      expect(until.items.map((e) => e.id)).toEqual([early.id]);
    });

    it('leaves out events that have started unless asked from an earlier time', async () => {
      const past = (await post(validBody({ name: `Past show ${token}` })).expect(201))
        .body as EventBody;
      await testApp.dataSource.query(
        `UPDATE events SET starts_at = now() - interval '2 days' WHERE id = $1`,
        [past.id],
      );
      expect((await list(`q=${token}`)).items.map((e) => e.id)).not.toContain(past.id);
      const withPast = await list(`q=${token}&from=${encodeURIComponent(inDays(-3))}`);
      expect(withPast.items[0].id).toBe(past.id);
      expect(withPast.total).toBe(events.length + 1);
    });

    it('treats % and _ in q literally', async () => {
      expect((await list(`q=${encodeURIComponent(`${token}%`)}`)).total).toBe(0);
      expect((await list(`q=${encodeURIComponent(`_${token.slice(1)}`)}`)).total).toBe(0);
    });

    it.each(['pageSize=0', 'pageSize=101', 'page=0', 'from=soon', 'to=later', 'sort=name'])(
      'rejects %s with 400',
      async (query) => {
        expectProblem(await testApp.http().get(`/api/v1/events?${query}`), 400);
      },
    );
  });

  describe('detail', () => {
    it('keeps available + locked + sold = quantity, live after bookings', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [
          { name: 'General Admission', price: 2500, quantity: 20 },
          { name: 'VIP', price: 9000, quantity: 5 },
        ],
      });
      const buyers = await createBuyers(testApp, 3);
      const quantities = [3, 2, 4];
      await Promise.all(
        buyers.map((buyer, i) =>
          book(testApp, buyer, event.id, {
            ticketTypeId: event.ticketTypes[0].id,
            quantity: quantities[i],
          }).expect(201),
        ),
      );
      const held = quantities.reduce((sum, q) => sum + q, 0);

      const [ga, vip] = (await getEvent(event.id)).ticketTypes;

      expect(ga).toEqual(
        expect.objectContaining({ quantity: 20, available: 20 - held, locked: held, sold: 0 }),
      );
      expect(vip).toEqual(
        expect.objectContaining({ quantity: 5, available: 5, locked: 0, sold: 0 }),
      );
      for (const type of [ga, vip]) {
        expect(type.available + type.locked + type.sold).toBe(type.quantity);
        expect(await ticketCounts(testApp.dataSource, type.id)).toEqual({
          available: type.available,
          locked: type.locked,
          sold: type.sold,
        });
      }
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('answers 404 for an unknown event and 400 for a malformed id', async () => {
      expectProblem(await testApp.http().get(`/api/v1/events/${randomUUID()}`), 404);
      expectProblem(await testApp.http().get('/api/v1/events/not-an-id'), 400);
      expectProblem(await testApp.http().get(`/api/v1/events/${randomUUID()}/tickets`), 404);
    });
  });

  describe('changes', () => {
    it('adds a ticket type that is bookable at once', async () => {
      const event = await createEvent(testApp, admin);
      const [buyer] = await createBuyers(testApp, 1);
      // The event is in use (its catalog entry and lock pool are warm) before the change.
      await book(testApp, buyer, event.id, {
        ticketTypeId: event.ticketTypes[0].id,
        quantity: 1,
      }).expect(201);

      const response = await testApp
        .http()
        .post(`/api/v1/events/${event.id}/ticket-types`)
        .set('Authorization', `Bearer ${admin.token}`)
        .send({ name: 'Balcony', price: 3000, quantity: 8 });

      expect(response.status).toBe(201);
      const updated = response.body as EventBody;
      expect(updated.ticketTypes.map((type) => type.name)).toEqual([
        'General Admission',
        'Balcony',
      ]);
      const balcony = updated.ticketTypes[1];
      expect(balcony).toEqual(
        expect.objectContaining({ price: 3000, quantity: 8, available: 8, locked: 0, sold: 0 }),
      );
      const [other] = await createBuyers(testApp, 1);
      const booked = await book(testApp, other, event.id, {
        ticketTypeId: balcony.id,
        quantity: 2,
      });
      expect(booked.status).toBe(201);
      expect(orderOf(booked).tickets.every((ticket) => ticket.ticketTypeId === balcony.id)).toBe(
        true,
      );
      const page = await tickets(event.id, `ticketTypeId=${balcony.id}`);
      expect(page.items.map(serialOf)).toEqual(page.items.map((_, i) => i + 1));
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('refuses a second type of the same name (409), invalid types (400), unknown events (404)', async () => {
      const event = await createEvent(testApp, admin);
      const add = (eventId: string, body: object) =>
        testApp
          .http()
          .post(`/api/v1/events/${eventId}/ticket-types`)
          .set('Authorization', `Bearer ${admin.token}`)
          .send(body);
      expectProblem(
        await add(event.id, { name: 'General Admission', price: 100, quantity: 1 }),
        409,
      );
      expectProblem(await add(event.id, { name: 'Balcony', price: -1, quantity: 1 }), 400);
      expectProblem(await add(event.id, { name: 'Balcony', price: 100, quantity: 0 }), 400);
      expectProblem(await add(randomUUID(), { name: 'Balcony', price: 100, quantity: 1 }), 404);
      expect((await getEvent(event.id)).ticketTypes).toHaveLength(1);
    });

    it('patches scalar fields', async () => {
      const event = await createEvent(testApp, admin);
      const startsAt = inDays(45);
      const response = await patch(event.id, {
        name: 'Renamed',
        description: 'Now with a description',
        venue: 'Stadium',
        startsAt,
        currency: 'gbp',
        maxTicketsPerOrder: 2,
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual(
        expect.objectContaining({
          id: event.id,
          name: 'Renamed',
          description: 'Now with a description',
          venue: 'Stadium',
          startsAt,
          currency: 'gbp',
          maxTicketsPerOrder: 2,
          status: 'on_sale',
        }),
      );
      expect(await getEvent(event.id)).toEqual(response.body);
      // A partial patch leaves the rest alone, and the new maximum applies to bookings at once.
      const partial = await patch(event.id, { venue: 'Club' }).expect(200);
      expect(partial.body).toEqual(expect.objectContaining({ name: 'Renamed', venue: 'Club' }));
      const [buyer] = await createBuyers(testApp, 1);
      expectProblem(
        await book(testApp, buyer, event.id, {
          ticketTypeId: event.ticketTypes[0].id,
          quantity: 3,
        }),
        400,
      );
    });

    it('refuses invalid patches (400), unknown events (404), a currency change once sold (409)', async () => {
      const event = await createEvent(testApp, admin);
      expectProblem(await patch(event.id, { startsAt: inDays(-1) }), 400);
      expectProblem(await patch(event.id, { currency: 'EUR' }), 400);
      expectProblem(await patch(event.id, { status: 'sold_out' }), 400);
      expectProblem(await patch(event.id, { ticketTypes: [] }), 400);
      expectProblem(await patch(randomUUID(), { name: 'Ghost' }), 404);
      const [buyer] = await createBuyers(testApp, 1);
      await book(testApp, buyer, event.id, {
        ticketTypeId: event.ticketTypes[0].id,
        quantity: 1,
      }).expect(201);
      expectProblem(await patch(event.id, { currency: 'eur' }), 409);
      expect((await getEvent(event.id)).currency).toBe('usd');
    });

    it('refuses null for what cannot be empty (400), and changes nothing', async () => {
      const event = await createEvent(testApp, admin);
      const type = event.ticketTypes[0];
      for (const field of [
        'name',
        'venue',
        'startsAt',
        'currency',
        'maxTicketsPerOrder',
        'status',
      ]) {
        const problem = expectProblem(await patch(event.id, { [field]: null }), 400);
        expect(new Set((problem.errors as { field: string }[]).map((e) => e.field))).toEqual(
          new Set([field]),
        );
      }
      for (const field of ['name', 'price', 'quantity']) {
        const problem = expectProblem(
          await patch(`${event.id}/ticket-types/${type.id}`, { [field]: null }),
          400,
        );
        expect(new Set((problem.errors as { field: string }[]).map((e) => e.field))).toEqual(
          new Set([field]),
        );
      }
      const unchanged = await getEvent(event.id);
      expect(unchanged.ticketTypes[0]).toEqual(
        expect.objectContaining({ quantity: type.quantity, available: type.quantity }),
      );
      await expectInventoryConsistent(testApp.dataSource, event.id);
      // The description is optional: null clears it.
      const cleared = await patch(event.id, { description: null }).expect(200);
      expect(cleared.body.description).toBeNull();
    });

    it('keeps an event to 20 ticket types when adding one', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: Array.from({ length: 20 }, (_, i) => ({
          name: `Block ${i + 1}`,
          price: 100,
          quantity: 1,
        })),
      });
      const response = await testApp
        .http()
        .post(`/api/v1/events/${event.id}/ticket-types`)
        .set('Authorization', `Bearer ${admin.token}`)
        .send({ name: 'Block 21', price: 100, quantity: 1 });
      expectProblem(response, 400);
      expect((await getEvent(event.id)).ticketTypes).toHaveLength(20);
    });

    it('grows a ticket type: the new tickets are bookable at once', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 4 }],
      });
      const type = event.ticketTypes[0];
      const [first, second] = await createBuyers(testApp, 2);
      await book(testApp, first, event.id, { ticketTypeId: type.id, quantity: 4 }).expect(201);
      expectProblem(
        await book(testApp, second, event.id, { ticketTypeId: type.id, quantity: 3 }),
        409,
      );

      const grown = await patch(`${event.id}/ticket-types/${type.id}`, { quantity: 7 });

      expect(grown.status).toBe(200);
      expect((grown.body as EventBody).ticketTypes[0]).toEqual(
        expect.objectContaining({ quantity: 7, available: 3, locked: 4, sold: 0 }),
      );
      const booked = await book(testApp, second, event.id, { ticketTypeId: type.id, quantity: 3 });
      expect(booked.status).toBe(201);
      // The new tickets continue the serials.
      expect(
        orderOf(booked)
          .tickets.map((t) => Number(t.label.split('-')[1]))
          .sort(),
      ).toEqual([5, 6, 7]);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('grows a type in use by thousands of tickets, all in the lock store at once', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 10 }],
      });
      const type = event.ticketTypes[0];
      const pool = { eventId: event.id, ticketTypeId: type.id };
      const [buyer] = await createBuyers(testApp, 1);
      await book(testApp, buyer, event.id, { ticketTypeId: type.id, quantity: 2 }).expect(201);
      expect(await freeInLockStore(testApp, pool)).toBe(8);

      const grown = await patch(`${event.id}/ticket-types/${type.id}`, { quantity: 20_010 }).expect(
        200,
      );

      const available = (grown.body as EventBody).ticketTypes[0].available;
      expect(available).toBe(20_008);
      expect(await freeInLockStore(testApp, pool)).toBe(available);
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('shrinks a ticket type down to its sold + locked tickets, not below (409)', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 10 }],
      });
      const type = event.ticketTypes[0];
      const pool = { eventId: event.id, ticketTypeId: type.id };
      const [first, second] = await createBuyers(testApp, 2);
      const held = await book(testApp, first, event.id, { ticketTypeId: type.id, quantity: 3 });
      expect(held.status).toBe(201);

      expectProblem(await patch(`${event.id}/ticket-types/${type.id}`, { quantity: 2 }), 409);
      expect((await getEvent(event.id)).ticketTypes[0]).toEqual(
        expect.objectContaining({ quantity: 10, available: 7, locked: 3 }),
      );

      const shrunk = await patch(`${event.id}/ticket-types/${type.id}`, { quantity: 3 });
      expect(shrunk.status).toBe(200);
      expect((shrunk.body as EventBody).ticketTypes[0]).toEqual(
        expect.objectContaining({ quantity: 3, available: 0, locked: 3, sold: 0 }),
      );
      // The held tickets survived; the removed ones are gone from the lock store too.
      const listed = await tickets(event.id, 'pageSize=100');
      expect(listed.items.map((ticket) => ticket.id).sort()).toEqual(
        orderOf(held)
          .tickets.map((ticket) => ticket.id)
          .sort(),
      );
      expect(await freeInLockStore(testApp, pool)).toBe(0);
      expectProblem(
        await book(testApp, second, event.id, { ticketTypeId: type.id, quantity: 1 }),
        409,
      );
      await expectInventoryConsistent(testApp.dataSource, event.id);
    });

    it('renames and reprices a type; refuses a taken name (409) and unknown types (404)', async () => {
      const event = await createEvent(testApp, admin, {
        ticketTypes: [
          { name: 'General Admission', price: 2500, quantity: 5 },
          { name: 'VIP', price: 9000, quantity: 5 },
        ],
      });
      const [ga, vip] = event.ticketTypes;
      const renamed = await patch(`${event.id}/ticket-types/${vip.id}`, {
        name: 'Platinum',
        price: 12000,
      });
      expect(renamed.status).toBe(200);
      expect((renamed.body as EventBody).ticketTypes[1]).toEqual(
        expect.objectContaining({ id: vip.id, name: 'Platinum', price: 12000, quantity: 5 }),
      );
      expectProblem(await patch(`${event.id}/ticket-types/${ga.id}`, { name: 'Platinum' }), 409);
      expectProblem(await patch(`${event.id}/ticket-types/${randomUUID()}`, { quantity: 9 }), 404);
      // A type of another event is unknown here.
      const other = await createEvent(testApp, admin);
      expectProblem(await patch(`${other.id}/ticket-types/${ga.id}`, { quantity: 9 }), 404);
      expectProblem(await patch(`${event.id}/ticket-types/${ga.id}`, { quantity: -1 }), 400);
      expectProblem(await patch(`${event.id}/ticket-types/${ga.id}`, { quantity: 1.5 }), 400);
      expectProblem(await patch(`${event.id}/ticket-types/not-a-uuid`, { quantity: 9 }), 400);
    });

    it('writes an inventory outbox row for each change of counts or status, none for others', async () => {
      const inventoryRows = async (eventId: string) =>
        (
          await testApp.dataSource.query<{ payload: object }[]>(
            `SELECT payload FROM outbox WHERE topic = 'ticket_availability' AND payload->>'eventId' = $1 ORDER BY id`,
            [eventId],
          )
        ).map((row) => row.payload);
      const event = await createEvent(testApp, admin);
      const [ga] = event.ticketTypes;
      const inventory = { type: 'inventory', eventId: event.id };
      expect(await inventoryRows(event.id)).toEqual([inventory]);

      await patch(`${event.id}/ticket-types/${ga.id}`, { quantity: 15 }).expect(200);
      await patch(`${event.id}/ticket-types/${ga.id}`, { quantity: 12 }).expect(200);
      await testApp
        .http()
        .post(`/api/v1/events/${event.id}/ticket-types`)
        .set('Authorization', `Bearer ${admin.token}`)
        .send({ name: 'Balcony', price: 4000, quantity: 3 })
        .expect(201);
      await patch(event.id, { status: 'cancelled' }).expect(200);
      expect(await inventoryRows(event.id)).toHaveLength(5);

      // Neither a rename nor an unchanged status nor a refused shrink moves counts.
      await patch(`${event.id}/ticket-types/${ga.id}`, { name: 'Floor' }).expect(200);
      await patch(event.id, { status: 'cancelled', venue: 'Hall' }).expect(200);
      expectProblem(await patch(`${event.id}/ticket-types/${randomUUID()}`, { quantity: 1 }), 404);
      expect(await inventoryRows(event.id)).toEqual(Array.from({ length: 5 }, () => inventory));
    });
  });

  describe('tickets listing (GET /events/{id}/tickets)', () => {
    let event: TestEvent;
    let held: string[];

    beforeAll(async () => {
      event = await createEvent(testApp, admin, {
        ticketTypes: [
          { name: 'General Admission', price: 2500, quantity: 30 },
          { name: 'VIP', price: 9000, quantity: 10 },
        ],
      });
      const [buyer] = await createBuyers(testApp, 1);
      const answer = await book(testApp, buyer, event.id, {
        ticketTypeId: event.ticketTypes[1].id,
        quantity: 3,
      }).expect(201);
      held = orderOf(answer).tickets.map((ticket) => ticket.id);
    });

    it('pages across ticket types in type then serial order, with labels', async () => {
      const [ga, vip] = event.ticketTypes;
      const first = await tickets(event.id, 'pageSize=20&page=1');
      const second = await tickets(event.id, 'pageSize=20&page=2');
      const third = await tickets(event.id, 'pageSize=20&page=3');

      expect(first.total).toBe(ga.quantity + vip.quantity);
      expect(second.total).toBe(first.total);
      expect(third.items).toEqual([]);
      const gaPrefix = prefixOf(first.items[0]);
      expect(first.items.map((t) => t.label)).toEqual(
        Array.from({ length: 20 }, (_, i) => label(gaPrefix, i + 1)),
      );
      // Page 2 holds the last 10 GA tickets, then the 10 VIP ones.
      expect(second.items.map((t) => t.ticketTypeId)).toEqual([
        ...Array<string>(ga.quantity - 20).fill(ga.id),
        ...Array<string>(vip.quantity).fill(vip.id),
      ]);
      const vipPrefix = prefixOf(second.items[ga.quantity - 20]);
      expect(vipPrefix).not.toBe(gaPrefix);
      expect(second.items.map((t) => t.label)).toEqual([
        ...Array.from({ length: ga.quantity - 20 }, (_, i) => label(gaPrefix, 21 + i)),
        ...Array.from({ length: vip.quantity }, (_, i) => label(vipPrefix, i + 1)),
      ]);
      expect(gaPrefix).toBe('GA');
      const all = [...first.items, ...second.items];
      expect(new Set(all.map((t) => t.id)).size).toBe(all.length);
      for (const ticket of all) {
        expect(ticket).toEqual({
          id: expect.any(String),
          ticketTypeId: expect.any(String),
          label: expect.any(String),
          status: held.includes(ticket.id) ? 'locked' : 'available',
        });
      }
    });

    it('a page window that starts inside one type and ends inside the next', async () => {
      const [ga, vip] = event.ticketTypes;
      const page = await tickets(event.id, 'pageSize=7&page=5');
      // Items 29..35: the last GA tickets, then the first VIP ones.
      const offset = 7 * 4;
      const gaPart = ga.quantity - offset;
      expect(page.items.slice(0, gaPart).every((t) => t.ticketTypeId === ga.id)).toBe(true);
      expect(page.items.slice(gaPart).every((t) => t.ticketTypeId === vip.id)).toBe(true);
      expect(page.items.map(serialOf)).toEqual([
        ...Array.from({ length: gaPart }, (_, i) => offset + 1 + i),
        ...Array.from({ length: 7 - gaPart }, (_, i) => i + 1),
      ]);
    });

    it('filters by status and by ticket type', async () => {
      const [ga, vip] = event.ticketTypes;
      const locked = await tickets(event.id, 'status=locked');
      expect(locked.total).toBe(held.length);
      expect(locked.items.map((t) => t.id).sort()).toEqual([...held].sort());
      expect(locked.items.every((t) => t.status === 'locked')).toBe(true);

      const available = await tickets(event.id, 'status=available&pageSize=100');
      expect(available.total).toBe(ga.quantity + vip.quantity - held.length);
      expect(available.items).toHaveLength(available.total);
      expect(available.items.some((t) => held.includes(t.id))).toBe(false);

      expect((await tickets(event.id, 'status=sold')).total).toBe(0);

      const vipOnly = await tickets(event.id, `ticketTypeId=${vip.id}&pageSize=4&page=2`);
      expect(vipOnly.total).toBe(vip.quantity);
      expect(vipOnly.items.map(serialOf)).toEqual([5, 6, 7, 8]);
      expect(vipOnly.items.every((t) => t.ticketTypeId === vip.id)).toBe(true);

      const vipAvailable = await tickets(event.id, `ticketTypeId=${vip.id}&status=available`);
      expect(vipAvailable.total).toBe(vip.quantity - held.length);
    });

    it('answers 404 for a type of another event, 400 for bad filters', async () => {
      const other = await createEvent(testApp, admin);
      expectProblem(
        await testApp
          .http()
          .get(`/api/v1/events/${event.id}/tickets?ticketTypeId=${other.ticketTypes[0].id}`),
        404,
      );
      expectProblem(
        await testApp.http().get(`/api/v1/events/${event.id}/tickets?ticketTypeId=${randomUUID()}`),
        404,
      );
      for (const query of ['ticketTypeId=vip', 'status=free', 'pageSize=101', 'page=-1']) {
        expectProblem(await testApp.http().get(`/api/v1/events/${event.id}/tickets?${query}`), 400);
      }
    });

    it('keeps labels distinct past serial 999,999', async () => {
      const rows: { label: string }[] = await testApp.dataSource.query(
        `SELECT ${TICKET_LABEL_SQL} AS label
         FROM (VALUES (1), (100000), (999999), (1000000)) AS t (serial),
              (VALUES ('GA')) AS tt (label_prefix)
         ORDER BY t.serial`,
      );
      expect(rows.map((row) => row.label)).toEqual(
        [1, 100_000, 999_999, 1_000_000].map((serial) => label('GA', serial)),
      );
    });
  });

  it('a 200,000-ticket event: totals and pages across types stay right, deep pages are refused', async () => {
    const response = await post(
      validBody({
        ticketTypes: [
          { name: 'General Admission', price: 2500, quantity: 5_000 },
          { name: 'Seated', price: 4500, quantity: 195_000 },
        ],
      }),
    );
    expect(response.status).toBe(201);
    const event = response.body as EventBody;
    const [ga, seated] = event.ticketTypes;
    expect(seated).toEqual(expect.objectContaining({ quantity: 195_000, available: 195_000 }));

    const first = await tickets(event.id, 'pageSize=100');
    expect(first.total).toBe(200_000);
    const gaPrefix = prefixOf(first.items[0]);

    // Page 50 ends GA exactly; page 51 starts Seated.
    const lastGa = await tickets(event.id, 'pageSize=100&page=50');
    expect(lastGa.items.map((t) => t.label)).toEqual(
      Array.from({ length: 100 }, (_, i) => label(gaPrefix, 4_901 + i)),
    );
    expect(lastGa.items.every((t) => t.ticketTypeId === ga.id)).toBe(true);
    const firstSeated = await tickets(event.id, 'pageSize=100&page=51');
    const seatedPrefix = prefixOf(firstSeated.items[0]);
    expect(firstSeated.items.map((t) => t.label)).toEqual(
      Array.from({ length: 100 }, (_, i) => label(seatedPrefix, i + 1)),
    );
    expect(firstSeated.items.every((t) => t.ticketTypeId === seated.id)).toBe(true);

    // The furthest page a list reaches (page × pageSize = 10,000), by type and by status.
    const deepest = await tickets(event.id, `ticketTypeId=${seated.id}&pageSize=50&page=200`);
    expect(deepest.total).toBe(195_000);
    expect(deepest.items.map((t) => t.label)).toEqual(
      Array.from({ length: 50 }, (_, i) => label(seatedPrefix, 9_951 + i)),
    );
    const available = await tickets(event.id, 'status=available&pageSize=100&page=100');
    expect(available.total).toBe(200_000);
    expect(available.items.map((t) => t.label)).toEqual(
      Array.from({ length: 100 }, (_, i) => label(seatedPrefix, 4_901 + i)),
    );
    // Beyond it, an offset would read every row it skips: refused, whatever the filters.
    for (const query of [
      'pageSize=100&page=101',
      `ticketTypeId=${seated.id}&page=1950&pageSize=100`,
    ]) {
      const refused = await testApp.http().get(`/api/v1/events/${event.id}/tickets?${query}`);
      expect(expectProblem(refused, 400).errors).toEqual([
        expect.objectContaining({ field: 'page' }),
      ]);
    }
    await expectInventoryConsistent(testApp.dataSource, event.id);
  });
});
