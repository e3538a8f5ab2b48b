import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { FAKE_STRIPE_SECRET_KEY } from '../fakes/stripe-client';
import { startStripeFake, type StripeFake } from '../fakes/stripe-server';
import { book, createEvent } from '../support/booking';
import { freshDatabase } from '../support/fresh-database';
import { collect, ensureBuilt, SERVER_MAIN } from '../support/processes';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

/** In production the payment simulator never runs: no Stripe key, no start; its routes 404. */
describe('production mode', () => {
  // Production also needs the ticket signing key; only the Stripe key is missing here.
  const TICKET_SIGNING_KEY = generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();

  const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

  it(
    'refuses to start without STRIPE_SECRET_KEY, with one line saying so, exit 1',
    async () => {
      await ensureBuilt();
      const child = spawn(process.execPath, [SERVER_MAIN], {
        cwd: tmpdir(),
        env: {
          ...baseEnv,
          NODE_ENV: 'production',
          JWT_SECRET: 'a-production-secret-that-is-long-enough-0123',
          TICKET_SIGNING_KEY,
          DATABASE_URL: process.env.DATABASE_URL,
          REDIS_URL: process.env.REDIS_URL,
        },
        stdio: 'pipe',
      });
      const finished = await collect(child, 60_000);
      expect(finished.code).toBe(1);
      const [heading, ...problems] = finished.stderr.trim().split('\n');
      expect(heading).toMatch(/Invalid configuration/);
      expect(problems).toEqual([
        expect.stringMatching(/^STRIPE_SECRET_KEY: is required in production/),
      ]);
      expect(finished.stdout).not.toMatch(/simulator/i);
    },
    5 * 60_000,
  );

  it(
    'refuses PAYMENT_SIMULATOR=true, even with a Stripe key: one line saying so, exit 1',
    async () => {
      await ensureBuilt();
      const child = spawn(process.execPath, [SERVER_MAIN], {
        cwd: tmpdir(),
        env: {
          ...baseEnv,
          NODE_ENV: 'production',
          JWT_SECRET: 'a-production-secret-that-is-long-enough-0123',
          TICKET_SIGNING_KEY,
          DATABASE_URL: process.env.DATABASE_URL,
          REDIS_URL: process.env.REDIS_URL,
          STRIPE_SECRET_KEY: FAKE_STRIPE_SECRET_KEY,
          STRIPE_WEBHOOK_SECRET: 'whsec_production_e2e_0123456789',
          PAYMENT_SIMULATOR: 'true',
        },
        stdio: 'pipe',
      });
      const finished = await collect(child, 60_000);
      expect(finished.code).toBe(1);
      const [heading, ...problems] = finished.stderr.trim().split('\n');
      expect(heading).toMatch(/Invalid configuration/);
      expect(problems).toEqual([
        'PAYMENT_SIMULATOR: must not be true in production, where the payment simulator never runs',
      ]);
      expect(`${finished.stdout}${finished.stderr}`).not.toContain(FAKE_STRIPE_SECRET_KEY);
    },
    5 * 60_000,
  );

  describe('with a Stripe key', () => {
    let fake: StripeFake;
    let testApp: TestApp;
    let admin: TestUser;

    beforeAll(async () => {
      fake = await startStripeFake();
      // A database of its own: this app's payment jobs would act on other suites' orders.
      const url = new URL(process.env.DATABASE_URL!);
      url.pathname = `${url.pathname}_production`;
      await freshDatabase(url);
      testApp = await startTestApp({
        NODE_ENV: 'production',
        // test/support/env.ts asks for the simulator, which production refuses.
        PAYMENT_SIMULATOR: 'auto',
        TICKET_SIGNING_KEY,
        DATABASE_URL: url.toString(),
        AUTH_RATE_LIMIT: '0',
        STRIPE_SECRET_KEY: FAKE_STRIPE_SECRET_KEY,
        STRIPE_WEBHOOK_SECRET: 'whsec_production_e2e_0123456789',
        STRIPE_API_URL: fake.url,
      });
      admin = await createUser(testApp, { admin: true });
    });
    afterAll(async () => {
      await testApp?.close();
      await fake?.close();
    });

    it('answers 404 on the simulator routes, even for an open simulator session', async () => {
      const event = await createEvent(testApp, admin);
      const buyer = await createUser(testApp);
      const held = await book(testApp, buyer, event.id, {
        ticketTypeId: event.ticketTypes[0].id,
        quantity: 2,
      }).expect(201);
      const orderId: string = held.body.order.id;
      // A session the simulator opened before the key was set.
      const sessionId = `sim_cs_${randomBytes(12).toString('hex')}`;
      await testApp.dataSource.query(
        `UPDATE orders SET checkout_session_id = $2, checkout_session_url = $3,
                           checkout_session_closed_at = NULL
         WHERE id = $1`,
        [orderId, sessionId, `${testApp.url}/api/v1/payments/simulator/${sessionId}`],
      );

      const base = `/api/v1/payments/simulator/${sessionId}`;
      expectProblem(await testApp.http().get(base), 404);
      for (const action of ['pay', 'decline']) {
        expectProblem(
          await testApp.http().post(`${base}/${action}`).set('Content-Type', 'text/plain').send(''),
          404,
        );
      }
      const [order]: { status: string }[] = await testApp.dataSource.query(
        `SELECT status FROM orders WHERE id = $1`,
        [orderId],
      );
      expect(order.status).toBe('pending');
    });
  });
});
