import { createHmac } from 'node:crypto';
import { JwtStrategy } from '../../libs/auth/src/jwt.strategy';
import { createBuyers, createEvent, type TestEvent } from '../support/booking';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

/**
 * BookingFastPath serves `Bearer` + `{ticketTypeId, quantity}` bookings straight from
 * Fastify; everything else goes through the Nest route. passport accepts the scheme in any
 * case, the fast path only as `Bearer`: a lowercase `bearer` takes the Nest route with the
 * same token and body, so the two can be compared answer for answer.
 */
describe('booking fast path', () => {
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0' });
    admin = await createUser(testApp, { admin: true });
  });
  afterAll(() => testApp.close());

  function bookAs(scheme: string, token: string, eventId: string, body: unknown) {
    return testApp
      .http()
      .post(`/api/v1/events/${eventId}/bookings`)
      .set('Authorization', `${scheme} ${token}`)
      .send(body as object);
  }

  /** Ids, times, signatures and labels differ between two orders; the shape must not. */
  function shapeOf(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(shapeOf);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
    return typeof value === 'string' ? 'string' : value;
  }

  /** Headers every answer carries, whichever way it was served (values of the per-answer ones aside). */
  function headerNames(headers: Record<string, string>): string[] {
    return Object.keys(headers)
      .filter((name) => !['date', 'content-length'].includes(name))
      .sort();
  }

  it('answers a quantity booking, and then sold out, exactly as the Nest route does', async () => {
    const event: TestEvent = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 4000, quantity: 4 }],
    });
    const body = { ticketTypeId: event.ticketTypes[0].id, quantity: 2 };
    const [fastBuyer, nestBuyer, lateFast, lateNest] = await createBuyers(testApp, 4);

    // passport runs for the Nest route only.
    const passport = jest.spyOn(testApp.app.get(JwtStrategy), 'validate');
    const fast = await bookAs('Bearer', fastBuyer.token, event.id, body).expect(201);
    expect(passport).not.toHaveBeenCalled();
    const nest = await bookAs('bearer', nestBuyer.token, event.id, body).expect(201);
    expect(passport).toHaveBeenCalledTimes(1);
    passport.mockRestore();
    expect(shapeOf(fast.body)).toEqual(shapeOf(nest.body));
    expect(fast.body.order).toMatchObject({ userId: fastBuyer.id, quantity: 2 });
    expect(nest.body.order).toMatchObject({ userId: nestBuyer.id, quantity: 2 });
    expect(fast.headers['content-type']).toBe(nest.headers['content-type']);
    expect(headerNames(fast.headers)).toEqual(headerNames(nest.headers));

    const soldOutFast = await bookAs('Bearer', lateFast.token, event.id, body);
    const soldOutNest = await bookAs('bearer', lateNest.token, event.id, body);
    expectProblem(soldOutFast, 409);
    expect(soldOutFast.body).toEqual(soldOutNest.body);
    expect(soldOutFast.body.type).toBe('urn:tickets:problem:booking.sold_out');
    expect(headerNames(soldOutFast.headers)).toEqual(headerNames(soldOutNest.headers));
    const [{ orders }] = await testApp.dataSource.query(
      `SELECT count(*)::int AS orders FROM orders WHERE event_id = $1`,
      [event.id],
    );
    expect(orders).toBe(2);
  });

  it('leaves every other request to the Nest route, which answers it in full', async () => {
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 4000, quantity: 20 }],
    });
    const typeId = event.ticketTypes[0].id;
    const [buyer] = await createBuyers(testApp, 1);
    const forged = buyer.token.replace(/[^.]+$/, (signature) =>
      createHmac('sha256', 'another-key').update(signature).digest('base64url'),
    );
    const cases: [string, string, string, unknown, number, string?][] = [
      ['no token', 'Bearer', '', { ticketTypeId: typeId, quantity: 1 }, 401],
      ['a forged token', 'Bearer', forged, { ticketTypeId: typeId, quantity: 1 }, 401],
      ['quantity 0', 'Bearer', buyer.token, { ticketTypeId: typeId, quantity: 0 }, 400, 'quantity'],
      [
        'quantity 51',
        'Bearer',
        buyer.token,
        { ticketTypeId: typeId, quantity: 51 },
        400,
        'quantity',
      ],
      [
        'a fractional quantity',
        'Bearer',
        buyer.token,
        { ticketTypeId: typeId, quantity: 1.5 },
        400,
        'quantity',
      ],
      [
        'a quantity as a string',
        'Bearer',
        buyer.token,
        { ticketTypeId: typeId, quantity: '1' },
        400,
        'quantity',
      ],
      [
        'a malformed ticket type',
        'Bearer',
        buyer.token,
        { ticketTypeId: 'GA', quantity: 1 },
        400,
        'ticketTypeId',
      ],
      [
        'an unknown field',
        'Bearer',
        buyer.token,
        { ticketTypeId: typeId, quantity: 1, seat: 'A1' },
        400,
        'seat',
      ],
      [
        'a body that is a list',
        'Bearer',
        buyer.token,
        [{ ticketTypeId: typeId, quantity: 1 }],
        400,
      ],
    ];
    for (const [what, scheme, token, body, status, field] of cases) {
      const response = await bookAs(scheme, token, event.id, body);
      const problem = expectProblem(response, status);
      if (field)
        expect({ what, errors: problem.errors }).toEqual({
          what,
          errors: expect.arrayContaining([expect.objectContaining({ field })]),
        });
    }
    expectProblem(
      await bookAs('Bearer', buyer.token, 'not-an-id', { ticketTypeId: typeId, quantity: 1 }),
      400,
    );
    const [{ orders }] = await testApp.dataSource.query(
      `SELECT count(*)::int AS orders FROM orders WHERE event_id = $1`,
      [event.id],
    );
    expect(orders).toBe(0);

    // Explicit ids are the Nest route's too; an over-long Idempotency-Key is refused on the
    // fast path by the controller's own check.
    const tooLongKey = await bookAs('Bearer', buyer.token, event.id, {
      ticketTypeId: typeId,
      quantity: 1,
    }).set('Idempotency-Key', 'k'.repeat(129));
    expect(expectProblem(tooLongKey, 400).type).toBe(
      'urn:tickets:problem:booking.invalid_idempotency_key',
    );
    const page = await testApp
      .http()
      .get(`/api/v1/events/${event.id}/tickets?pageSize=1`)
      .expect(200);
    const [ticket] = (page.body as { items: { id: string }[] }).items;
    const byIds = await bookAs('Bearer', buyer.token, event.id, { ticketIds: [ticket.id] });
    expect(byIds.status).toBe(201);
    expect((byIds.body as { order: { tickets: { id: string }[] } }).order.tickets).toEqual([
      expect.objectContaining({ id: ticket.id }),
    ]);
  });
});
