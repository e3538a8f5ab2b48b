import { MAX_EVENT_TICKETS } from '../../libs/events/src/events.service';
import { createEvent, type TestEvent } from '../support/booking';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

const GROWTH = 200;
const ROOM = 500;

/**
 * The per-event ticket cap under concurrent admin writes: grows of different types and adds
 * of new types, each fitting alone, must not together pass the cap.
 */
describe('events: the ticket cap under concurrent grows and adds', () => {
  let testApp: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0' });
    admin = await createUser(testApp, { admin: true });
  });
  afterAll(() => testApp?.close());

  async function typeRows(eventId: string) {
    const rows: { name: string; quantity: number; rows: string; counted: string }[] =
      await testApp.dataSource.query(
        `SELECT tt.name, tt.quantity,
                (SELECT count(*) FROM tickets t WHERE t.ticket_type_id = tt.id) AS rows,
                (SELECT sum(available + locked + sold) FROM ticket_type_counters c
                 WHERE c.ticket_type_id = tt.id) AS counted
         FROM ticket_types tt WHERE tt.event_id = $1 ORDER BY tt.position`,
        [eventId],
      );
    return rows;
  }

  it('never passes the cap, and issues exactly the tickets of the writes it accepted', async () => {
    const event: TestEvent = await createEvent(testApp, admin, {
      ticketTypes: [
        { name: 'Filler', price: 1000, quantity: 1 },
        ...Array.from({ length: 5 }, (_, n) => ({ name: `Grown ${n}`, price: 1000, quantity: 10 })),
      ],
    });
    // Issuing a million tickets takes minutes on a test machine. The cap is checked against
    // the types' quantities, so the filler's quantity is raised in place (its tickets are not
    // issued) to leave ROOM tickets under the cap.
    await testApp.dataSource.query(
      `UPDATE ticket_types SET quantity = $2 WHERE event_id = $1 AND name = 'Filler'`,
      [event.id, MAX_EVENT_TICKETS - 5 * 10 - ROOM],
    );

    const auth = { Authorization: `Bearer ${admin.token}` };
    const grows = event.ticketTypes.slice(1).map((type) =>
      testApp
        .http()
        .patch(`/api/v1/events/${event.id}/ticket-types/${type.id}`)
        .set(auth)
        .send({ quantity: 10 + GROWTH }),
    );
    const adds = Array.from({ length: 5 }, (_, n) =>
      testApp
        .http()
        .post(`/api/v1/events/${event.id}/ticket-types`)
        .set(auth)
        .send({ name: `Added ${n}`, price: 1000, quantity: GROWTH }),
    );
    const responses = await Promise.all([...grows, ...adds]);

    const accepted = responses.filter((response) => response.status < 300);
    const refused = responses.filter((response) => response.status >= 300);
    expect(accepted).toHaveLength(Math.floor(ROOM / GROWTH));
    refused.forEach((response) => expectProblem(response, 400));

    const types = await typeRows(event.id);
    const total = types.reduce((sum, type) => sum + type.quantity, 0);
    expect(total).toBeLessThanOrEqual(MAX_EVENT_TICKETS);
    expect(total).toBe(MAX_EVENT_TICKETS - ROOM + accepted.length * GROWTH);
    // Every type but the filler has exactly its quantity in tickets, by rows and by counters.
    for (const type of types.filter((type) => type.name !== 'Filler')) {
      expect({ name: type.name, rows: Number(type.rows), counted: Number(type.counted) }).toEqual({
        name: type.name,
        rows: type.quantity,
        counted: type.quantity,
      });
    }
  });
});
