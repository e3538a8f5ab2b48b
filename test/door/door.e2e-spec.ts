import { generateKeyPairSync, sign } from 'node:crypto';
import { rawEd25519PublicKey } from '@app/config';
import { encodeCode, signedBytes } from '@app/door';
import { holdTickets, startPaymentsApp, type HeldOrder } from '../support/payments-helpers';
import { createBuyers, createEvent, type TestEvent } from '../support/booking';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';
import {
  confirmedOrder,
  createStaff,
  payThroughSimulator,
  readPdf,
  exampleVerifier,
  type PublishedKey,
} from '../support/tickets';

const newKey = () => generateKeyPairSync('ed25519').privateKey;
const pemOf = (key: ReturnType<typeof newKey>) =>
  key.export({ format: 'pem', type: 'pkcs8' }).toString();

interface IssuedTicket {
  id: string;
  label: string;
  ticketTypeId: string;
  ticketTypeName: string;
  code: string;
  checkedInAt: string | null;
}

/** E-tickets and the door, on the real app with the payment simulator confirming orders. */
describe('tickets and the door', () => {
  const signingKey = newKey();
  let testApp: TestApp;
  let admin: TestUser;
  let staff: TestUser;
  let event: TestEvent;
  let otherEvent: TestEvent;
  const verifyTicketCode = exampleVerifier();

  beforeAll(async () => {
    testApp = await startPaymentsApp('door', { TICKET_SIGNING_KEY: pemOf(signingKey) });
    admin = await createUser(testApp, { admin: true });
    staff = await createStaff(testApp);
    event = await createEvent(testApp, admin, {
      name: 'Midnight Orchestra',
      venue: 'Harbour Hall',
      ticketTypes: [{ name: 'Balcony', price: 4000, quantity: 60 }],
    });
    otherEvent = await createEvent(testApp, admin);
  }, 120_000);
  afterAll(() => testApp?.close());

  const as = (user: TestUser | null) => (call: ReturnType<ReturnType<TestApp['http']>['get']>) =>
    user ? call.set('Authorization', `Bearer ${user.token}`) : call;
  const ticketsOf = (held: HeldOrder, caller: TestUser = held.buyer) =>
    as(caller)(testApp.http().get(`/api/v1/orders/${held.orderId}/tickets`));
  const scan = (eventId: string, body: object, caller: TestUser | null = staff) =>
    as(caller)(testApp.http().post(`/api/v1/events/${eventId}/check-ins`)).send(body);
  async function publishedKeys(): Promise<PublishedKey[]> {
    const { keys } = (await testApp.http().get('/api/v1/check-in/keys').expect(200)).body as {
      keys: PublishedKey[];
    };
    return keys;
  }
  async function revokedCodes(eventId: string): Promise<string[]> {
    const url = `/api/v1/events/${eventId}/check-in/revoked`;
    const { codes } = (await as(staff)(testApp.http().get(url)).expect(200)).body as {
      codes: string[];
    };
    return codes;
  }
  async function issuedTickets(held: HeldOrder): Promise<IssuedTicket[]> {
    const tickets = (await ticketsOf(held).expect(200)).body as IssuedTicket[];
    return tickets;
  }

  describe('e-tickets', () => {
    it("lists a confirmed order's tickets with codes the published key verifies offline", async () => {
      const held = await confirmedOrder(testApp, event, 3);
      const tickets = await issuedTickets(held);
      expect(tickets).toHaveLength(3);
      const keys = await publishedKeys();
      expect(keys).toEqual([
        {
          id: expect.stringMatching(/^[\w-]{6}$/),
          algorithm: 'Ed25519',
          publicKey: rawEd25519PublicKey(signingKey).toString('base64url'),
          createdAt: expect.any(String),
        },
      ]);
      for (const ticket of tickets) {
        expect(ticket).toEqual({
          id: expect.any(String),
          label: expect.stringMatching(/^\w+-\d+$/),
          ticketTypeId: event.ticketTypes[0].id,
          ticketTypeName: 'Balcony',
          code: expect.stringMatching(/^[\w-]{156}$/),
          checkedInAt: null,
        });
        expect(verifyTicketCode(ticket.code, keys, [])).toEqual({
          ticketId: ticket.id,
          eventId: event.id,
          orderId: held.orderId,
        });
      }
      // Deterministic: the same code every time it is read.
      expect((await issuedTickets(held)).map((t) => t.code)).toEqual(tickets.map((t) => t.code));
      // The sold tickets are exactly these.
      const sold: { id: string }[] = await testApp.dataSource.query(
        `SELECT id FROM tickets WHERE order_id = $1 AND status = 'sold' ORDER BY id`,
        [held.orderId],
      );
      expect(tickets.map((t) => t.id).sort()).toEqual(sold.map((t) => t.id));
    });

    it('shows them to the buyer and admins only, and only once the order is confirmed', async () => {
      const held = await confirmedOrder(testApp, event);
      await ticketsOf(held, admin).expect(200);
      const stranger = await createUser(testApp);
      for (const caller of [stranger, staff]) {
        const body = expectProblem(await ticketsOf(held, caller), 404);
        expect(body.type).toBe('urn:tickets:problem:order.not_found');
        expectProblem(
          await as(caller)(testApp.http().get(`/api/v1/orders/${held.orderId}/tickets.pdf`)),
          404,
        );
      }
      expectProblem(await testApp.http().get(`/api/v1/orders/${held.orderId}/tickets`), 401);
      expectProblem(await testApp.http().get(`/api/v1/orders/${held.orderId}/tickets.pdf`), 401);
      expectProblem(await ticketsOf({ ...held, orderId: 'not-a-uuid' }), 400);

      const pending = await holdTickets(testApp, event);
      const body = expectProblem(await ticketsOf(pending), 409);
      expect(body.type).toBe('urn:tickets:problem:order.not_confirmed');
      expectProblem(
        await as(pending.buyer)(
          testApp.http().get(`/api/v1/orders/${pending.orderId}/tickets.pdf`),
        ),
        409,
      );
    });

    it('renders a PDF page per ticket whose QR code scans to that ticket’s code', async () => {
      const held = await confirmedOrder(testApp, event, 2);
      const tickets = await issuedTickets(held);
      const response = await as(held.buyer)(
        testApp.http().get(`/api/v1/orders/${held.orderId}/tickets.pdf`),
      )
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => done(null, Buffer.concat(chunks)));
        })
        .expect(200);
      expect(response.headers['content-type']).toBe('application/pdf');
      expect(response.headers['content-disposition']).toBe(
        `attachment; filename="tickets-${held.orderId}.pdf"`,
      );
      const pdf = response.body as Buffer;
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');

      const { text, pages, qrCodes } = await readPdf(pdf);
      expect(pages).toBe(2);
      for (const expected of ['Midnight Orchestra', 'Harbour Hall', 'Balcony', held.orderId]) {
        expect(text).toContain(expected);
      }
      for (const ticket of tickets) expect(text).toContain(ticket.label);
      expect(text).toMatch(/\((UTC|[A-Za-z_]+\/[A-Za-z_]+)\)/);

      expect(qrCodes).toEqual(tickets.map((ticket) => ticket.code));
    });
  });

  describe('check-in', () => {
    it('admits a ticket once when 20 scanners scan it at the same instant', async () => {
      const held = await confirmedOrder(testApp, event);
      const [ticket] = await issuedTickets(held);
      const scanners = await Promise.all(Array.from({ length: 4 }, () => createStaff(testApp)));
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          scan(event.id, { code: ticket.code }, [...scanners, admin][i % 5]),
        ),
      );
      const admitted = answers.filter((answer) => answer.status === 201);
      expect(admitted).toHaveLength(1);
      const [first] = admitted;
      expect(first.body).toEqual({
        ticketId: ticket.id,
        label: ticket.label,
        ticketTypeName: 'Balcony',
        orderId: held.orderId,
        checkedInAt: expect.any(String),
        by: { id: expect.any(String), name: expect.any(String) },
      });
      const refused = answers.filter((answer) => answer.status !== 201);
      expect(refused).toHaveLength(19);
      for (const answer of refused) {
        const body = expectProblem(answer, 409);
        expect(body.type).toBe('urn:tickets:problem:check_in.already_checked_in');
        expect(body.checkedInAt).toBe(first.body.checkedInAt);
        expect(body.detail).toContain(first.body.checkedInAt);
      }
      const rows: { checkedInAt: Date; by: string }[] = await testApp.dataSource.query(
        `SELECT checked_in_at AS "checkedInAt", checked_in_by AS by FROM check_ins WHERE ticket_id = $1`,
        [ticket.id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0].checkedInAt.toISOString()).toBe(first.body.checkedInAt);
      expect(rows[0].by).toBe(first.body.by.id);

      // The buyer's list shows it admitted; a later scan still answers with the first time.
      expect((await issuedTickets(held))[0].checkedInAt).toBe(first.body.checkedInAt);
      const later = expectProblem(await scan(event.id, { code: ticket.code }), 409);
      expect(later.checkedInAt).toBe(first.body.checkedInAt);
    });

    it('answers 404 to codes it did not sign: flipped, truncated, foreign key, garbage', async () => {
      const held = await confirmedOrder(testApp, event);
      const [ticket] = await issuedTickets(held);
      const bytes = Buffer.from(ticket.code, 'base64url');
      const flipped = (at: number) => {
        const copy = Buffer.from(bytes);
        copy[at] ^= 0x01;
        return copy.toString('base64url');
      };
      const foreignKey = newKey();
      const foreignId = Buffer.from(bytes.subarray(1, 5)).toString('base64url');
      const claims = { ticketId: ticket.id, eventId: event.id, orderId: held.orderId };
      const signedByOther = (keyId: string) => {
        const signed = signedBytes(keyId, claims);
        return encodeCode(signed, sign(null, signed, foreignKey));
      };
      const forged = [
        flipped(10), // a claim
        flipped(2), // the key id
        flipped(100), // the signature
        ticket.code.slice(0, -1),
        ticket.code.slice(0, 130),
        `${ticket.code}A`,
        signedByOther(foreignId), // another key, claiming our key id
        signedByOther('AAAAAA'), // another key under an unknown id
        'garbage',
        '!!!!',
        '🎟️',
      ];
      for (const code of forged) {
        const body = expectProblem(await scan(event.id, { code }), 404);
        expect(body.type).toBe('urn:tickets:problem:check_in.unknown_code');
      }
      const keys = await publishedKeys();
      for (const code of forged) expect(verifyTicketCode(code, keys, [])).toBeNull();
      const [{ count }] = await testApp.dataSource.query(
        `SELECT count(*)::int AS count FROM check_ins WHERE ticket_id = $1`,
        [ticket.id],
      );
      expect(count).toBe(0);
      // The genuine code still admits.
      await scan(event.id, { code: ticket.code }).expect(201);
    });

    it("refuses another event's ticket with 409 wrong_event", async () => {
      const held = await confirmedOrder(testApp, otherEvent);
      const [ticket] = await issuedTickets(held);
      const body = expectProblem(await scan(event.id, { code: ticket.code }), 409);
      expect(body.type).toBe('urn:tickets:problem:check_in.wrong_event');
      await scan(otherEvent.id, { code: ticket.code }).expect(201);
    });

    it('revokes the codes of a refunded order, even when its tickets are sold again', async () => {
      const held = await confirmedOrder(testApp, event, 2);
      const tickets = await issuedTickets(held);
      await as(held.buyer)(testApp.http().post(`/api/v1/orders/${held.orderId}/cancel`)).expect(
        200,
      );
      const [{ status }] = await testApp.dataSource.query(
        `SELECT status FROM orders WHERE id = $1`,
        [held.orderId],
      );
      expect(status).toBe('refunded');

      // Scanned at the same time: all revoked, none admitted.
      const answers = await Promise.all(
        [...tickets, ...tickets].map((ticket) => scan(event.id, { code: ticket.code })),
      );
      for (const answer of answers) {
        expect(expectProblem(answer, 409).type).toBe('urn:tickets:problem:check_in.revoked');
      }
      const revoked = await revokedCodes(event.id);
      for (const ticket of tickets) expect(revoked).toContain(ticket.code);
      const keys = await publishedKeys();
      for (const ticket of tickets) expect(verifyTicketCode(ticket.code, keys, revoked)).toBeNull();

      // An order that never confirmed never had codes, so it is not on the list.
      const pending = await holdTickets(testApp, event);
      await as(pending.buyer)(
        testApp.http().post(`/api/v1/orders/${pending.orderId}/cancel`),
      ).expect(200);
      const orders: { orderId: string }[] = await testApp.dataSource.query(
        `SELECT DISTINCT o.id AS "orderId" FROM orders o
         WHERE o.event_id = $1 AND o.confirmed_at IS NOT NULL AND o.status <> 'confirmed'`,
        [event.id],
      );
      expect(orders.map((o) => o.orderId)).not.toContain(pending.orderId);
      expect(await revokedCodes(event.id)).toEqual(revoked);

      // Sold again to another buyer: the new code admits, the old one stays revoked.
      const [buyer] = await createBuyers(testApp, 1);
      const rebooked = await as(buyer)(testApp.http().post(`/api/v1/events/${event.id}/bookings`))
        .send({ ticketIds: [tickets[0].id] })
        .expect(201);
      const resold: HeldOrder = {
        orderId: rebooked.body.order.id,
        checkoutUrl: rebooked.body.checkoutUrl,
        buyer,
      };
      await payThroughSimulator(testApp, resold);
      const [newTicket] = await issuedTickets(resold);
      expect(newTicket.id).toBe(tickets[0].id);
      expect(newTicket.code).not.toBe(tickets[0].code);
      expect(verifyTicketCode(newTicket.code, keys, await revokedCodes(event.id))).not.toBeNull();
      expect(expectProblem(await scan(event.id, { code: tickets[0].code }), 409).type).toBe(
        'urn:tickets:problem:check_in.revoked',
      );
      await scan(event.id, { code: newTicket.code }).expect(201);
      expect(expectProblem(await scan(event.id, { code: tickets[0].code }), 409).type).toBe(
        'urn:tickets:problem:check_in.revoked',
      );
    });

    it('lists check-ins newest first with a total, for staff and admins', async () => {
      const fresh = await createEvent(testApp, admin, {
        ticketTypes: [{ name: 'Floor', price: 1000, quantity: 10 }],
      });
      const held = await confirmedOrder(testApp, fresh, 3);
      const tickets = await issuedTickets(held);
      for (const ticket of tickets) await scan(fresh.id, { code: ticket.code }).expect(201);

      const list = (query: string, caller: TestUser = staff) =>
        as(caller)(testApp.http().get(`/api/v1/events/${fresh.id}/check-ins${query}`));
      const page1 = (await list('?page=1&pageSize=2').expect(200)).body;
      expect(page1).toEqual({ items: expect.any(Array), page: 1, pageSize: 2, total: 3 });
      const page2 = (await list('?page=2&pageSize=2', admin).expect(200)).body;
      const items = [...page1.items, ...page2.items];
      expect(items.map((item: { ticketId: string }) => item.ticketId)).toEqual(
        tickets.map((t) => t.id).reverse(),
      );
      expect(items[0]).toEqual({
        ticketId: tickets[2].id,
        label: tickets[2].label,
        ticketTypeName: 'Floor',
        orderId: held.orderId,
        checkedInAt: expect.any(String),
        by: { id: staff.id, name: expect.any(String) },
      });
      const times = items.map((item: { checkedInAt: string }) => item.checkedInAt);
      expect([...times].sort().reverse()).toEqual(times);

      expectProblem(await list('?pageSize=500'), 400);
      expectProblem(
        await as(staff)(testApp.http().get(`/api/v1/events/${held.orderId}/check-ins`)),
        404,
      );
      expectProblem(
        await as(staff)(testApp.http().get(`/api/v1/events/${held.orderId}/check-in/revoked`)),
        404,
      );
    });
  });

  describe('who may do what', () => {
    it('lets staff check in and read check-ins, nothing else', async () => {
      const created = await as(staff)(testApp.http().post('/api/v1/events')).send({
        name: 'Not allowed',
        venue: 'Nowhere',
        startsAt: new Date(Date.now() + 86_400_000).toISOString(),
        ticketTypes: [{ name: 'GA', price: 100, quantity: 1 }],
      });
      expectProblem(created, 403);
      expectProblem(
        await as(staff)(testApp.http().patch(`/api/v1/events/${event.id}`)).send({ venue: 'X' }),
        403,
      );
      await as(staff)(testApp.http().get(`/api/v1/events/${event.id}/check-ins`)).expect(200);
      await as(staff)(testApp.http().get(`/api/v1/events/${event.id}/check-in/revoked`)).expect(
        200,
      );
    });

    it('refuses customers (403) and anonymous callers (401) at every door route', async () => {
      const held = await confirmedOrder(testApp, event);
      const [ticket] = await issuedTickets(held);
      const routes = (caller: TestUser | null) => [
        scan(event.id, { code: ticket.code }, caller),
        as(caller)(testApp.http().get(`/api/v1/events/${event.id}/check-ins`)),
        as(caller)(testApp.http().get(`/api/v1/events/${event.id}/check-in/revoked`)),
      ];
      for (const answer of await Promise.all(routes(held.buyer))) expectProblem(answer, 403);
      for (const answer of await Promise.all(routes(null))) expectProblem(answer, 401);
      // Nothing was admitted by them.
      const [{ count }] = await testApp.dataSource.query(
        `SELECT count(*)::int AS count FROM check_ins WHERE ticket_id = $1`,
        [ticket.id],
      );
      expect(count).toBe(0);
      // The keys are public.
      expect(await publishedKeys()).toHaveLength(1);
    });

    it('answers 400 with every invalid field to bad check-in bodies', async () => {
      const cases: [unknown, string[]][] = [
        [{}, ['code']],
        [{ code: '' }, ['code']],
        [{ code: 42, extra: true }, ['code', 'extra']],
        [{ code: 'x'.repeat(1001) }, ['code']],
      ];
      for (const [body, fields] of cases) {
        const problem = expectProblem(await scan(event.id, body as object), 400);
        expect(problem.type).toBe('urn:tickets:problem:request.invalid');
        const errors = problem.errors as { field: string }[];
        expect([...new Set(errors.map((error) => error.field))].sort()).toEqual(fields);
      }
      expectProblem(await scan('not-a-uuid', { code: 'x' }), 400);
    });
  });

  describe('key rotation', () => {
    it('keeps admitting codes of a retired key while signing with the new one', async () => {
      const held = await confirmedOrder(testApp, event, 2);
      const [oldTicket, otherTicket] = await issuedTickets(held);
      const [oldKey] = await publishedKeys();

      const rotated = await startTestApp({
        DATABASE_URL: testApp.environment.DATABASE_URL!,
        AUTH_RATE_LIMIT: '0',
        TICKET_SIGNING_KEY: pemOf(newKey()),
        TICKET_SIGNING_KEYS_RETIRED: oldKey.publicKey,
      });
      try {
        const keys: PublishedKey[] = (await rotated.http().get('/api/v1/check-in/keys').expect(200))
          .body.keys;
        expect(keys).toHaveLength(2);
        expect(keys).toContainEqual(oldKey);
        const newCodes: IssuedTicket[] = (
          await as(held.buyer)(rotated.http().get(`/api/v1/orders/${held.orderId}/tickets`)).expect(
            200,
          )
        ).body;
        expect(newCodes[0].code).not.toBe(oldTicket.code);
        // Both keys verify offline; the old PDF's code and the new one name the same ticket.
        expect(verifyTicketCode(oldTicket.code, keys, [])).toEqual(
          verifyTicketCode(newCodes[0].code, keys, []),
        );
        await as(staff)(rotated.http().post(`/api/v1/events/${event.id}/check-ins`))
          .send({ code: oldTicket.code })
          .expect(201);
        const again = await as(staff)(
          rotated.http().post(`/api/v1/events/${event.id}/check-ins`),
        ).send({ code: newCodes[0].code });
        expect(expectProblem(again, 409).type).toBe(
          'urn:tickets:problem:check_in.already_checked_in',
        );
        // The server that only knows the new key: the old codes no longer verify.
        const forgotten = await startTestApp({
          DATABASE_URL: testApp.environment.DATABASE_URL!,
          AUTH_RATE_LIMIT: '0',
          TICKET_SIGNING_KEY: pemOf(newKey()),
        });
        try {
          const refused = await as(staff)(
            forgotten.http().post(`/api/v1/events/${event.id}/check-ins`),
          ).send({ code: otherTicket.code });
          expectProblem(refused, 404);
        } finally {
          await forgotten.close();
        }
      } finally {
        await rotated.close();
      }
    });
  });
});
