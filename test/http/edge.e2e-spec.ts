import { book, createBuyers, createEvent } from '../support/booking';
import { createUser, startTestApp, type TestApp } from '../support/test-app';

/**
 * What every answer carries, whichever route serves it (the booking fast path or Nest):
 * the security headers and the request id, and CORS headers only for configured origins.
 */
describe('HTTP edge', () => {
  const ALLOWED = 'https://tickets.example';

  async function bookingOf(testApp: TestApp) {
    const admin = await createUser(testApp, { admin: true });
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 4000, quantity: 10 }],
    });
    const [buyer] = await createBuyers(testApp, 1);
    return { event, buyer, body: { ticketTypeId: event.ticketTypes[0].id, quantity: 1 } };
  }

  describe('with CORS_ORIGINS set', () => {
    let testApp: TestApp;

    beforeAll(async () => {
      testApp = await startTestApp({
        AUTH_RATE_LIMIT: '0',
        CORS_ORIGINS: `${ALLOWED}, https://other.example`,
      });
    });
    afterAll(() => testApp.close());

    it('allows a configured origin on the booking fast path and on Nest routes', async () => {
      const { event, buyer, body } = await bookingOf(testApp);

      const booked = await book(testApp, buyer, event.id, body).set('Origin', ALLOWED).expect(201);
      expect(booked.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(booked.headers.vary).toMatch(/Origin/);

      const listed = await testApp.http().get('/api/v1/events').set('Origin', ALLOWED).expect(200);
      expect(listed.headers['access-control-allow-origin']).toBe(ALLOWED);
    });

    it('answers a preflight from a configured origin, and not from any other', async () => {
      const preflight = await testApp
        .http()
        .options('/api/v1/events/00000000-0000-4000-8000-000000000000/bookings')
        .set('Origin', ALLOWED)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization, content-type, idempotency-key')
        .expect(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(preflight.headers['access-control-allow-methods']).toMatch(/POST/);

      const stranger = await testApp
        .http()
        .get('/api/v1/events')
        .set('Origin', 'https://evil.example')
        .expect(200);
      expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('without CORS_ORIGINS', () => {
    let testApp: TestApp;

    beforeAll(async () => {
      testApp = await startTestApp({ AUTH_RATE_LIMIT: '0', CORS_ORIGINS: '' });
    });
    afterAll(() => testApp.close());

    it('sends no CORS header to any origin, and answers no preflight', async () => {
      const { event, buyer, body } = await bookingOf(testApp);

      const booked = await book(testApp, buyer, event.id, body).set('Origin', ALLOWED).expect(201);
      expect(
        Object.keys(booked.headers).filter((name) => name.startsWith('access-control-')),
      ).toEqual([]);

      const preflight = await testApp
        .http()
        .options('/api/v1/events')
        .set('Origin', ALLOWED)
        .set('Access-Control-Request-Method', 'GET')
        .expect(404);
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      expect(preflight.headers['content-type']).toMatch(/application\/problem\+json/);
    });

    it('sends the security headers and the request id on the fast path and on Nest routes', async () => {
      const { event, buyer, body } = await bookingOf(testApp);
      const answers = [
        await book(testApp, buyer, event.id, body).set('X-Request-Id', 'edge-test-1').expect(201),
        await testApp.http().get('/api/v1/events').set('X-Request-Id', 'edge-test-2').expect(200),
        await testApp
          .http()
          .get('/api/v1/no-such-route')
          .set('X-Request-Id', 'edge-test-3')
          .expect(404),
      ];

      answers.forEach((answer, i) => {
        expect(answer.headers['x-request-id']).toBe(`edge-test-${i + 1}`);
        expect(answer.headers['x-content-type-options']).toBe('nosniff');
        expect(answer.headers['x-frame-options']).toBe('DENY');
        expect(answer.headers['strict-transport-security']).toMatch(/max-age=\d+/);
        expect(answer.headers['content-security-policy']).toBe(
          "default-src 'none'; frame-ancestors 'none'",
        );
        // helmet's document-only headers stay off API answers.
        expect(answer.headers['x-xss-protection']).toBeUndefined();
        expect(answer.headers['cross-origin-opener-policy']).toBeUndefined();
      });
    });

    it("sends helmet's whole set on the pages a browser renders", async () => {
      const pages = [
        await testApp.http().get('/admin').expect(200),
        await testApp.http().get('/docs').expect(200),
      ];

      pages.forEach((page) => {
        expect(page.headers['content-type']).toMatch(/^text\/html/);
        expect(page.headers['x-content-type-options']).toBe('nosniff');
        expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
        expect(page.headers['strict-transport-security']).toMatch(/max-age=\d+/);
        expect(page.headers['content-security-policy']).toMatch(
          /default-src 'self';.*script-src 'self' 'unsafe-inline'/,
        );
        expect(page.headers['cross-origin-opener-policy']).toBe('same-origin');
        expect(page.headers['referrer-policy']).toBe('no-referrer');
      });
    });
  });
});
