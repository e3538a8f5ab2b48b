import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Client } from 'pg';
import { eventually } from '../support/eventually';
import { freshDatabase } from '../support/fresh-database';
import { collect, ensureBuilt, freePort, SERVER_MAIN, type Finished } from '../support/processes';

interface LogRecord {
  msg?: string;
  req?: { method: string; url: string };
  err?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * The built server's JSON log, read whole: a query that fails while writing a user carries
 * the email and the password hash (as parameters, in PostgreSQL's detail, in a message),
 * and a checkout link carries its token in the URL. None of them may reach the log.
 */
describe('the log never carries secrets', () => {
  const run = randomUUID();
  const password = `Secret password ${run}`;
  const checkEmail = `log-check-${run}@example.com`;
  const raiseEmail = `log-raise-${run}@example.com`;
  let finished: Finished;
  let records: LogRecord[];
  let checkoutToken: string;
  let checkoutPath: string;

  beforeAll(async () => {
    await ensureBuilt();
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `${url.pathname}_logs`;
    await freshDatabase(url);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [SERVER_MAIN], {
      cwd: tmpdir(),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        PUBLIC_URL: base,
        DATABASE_URL: url.toString(),
        // In-process locks and bus: nothing shared with the other suites' apps.
        REDIS_URL: '',
        JWT_SECRET: process.env.JWT_SECRET,
        PAYMENT_SIMULATOR: 'true',
        AUTH_RATE_LIMIT: '0',
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
      },
      stdio: 'pipe',
    });
    const exited = collect(child, 180_000);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const db = new Client({ connectionString: url.toString() });
    try {
      await eventually(() => Promise.resolve(output.includes('"Ready: API at')), {
        timeoutMs: 90_000,
        what: 'the ready line',
      });
      await db.connect();
      // Two ways a write of a user fails with its values in the error: a CHECK constraint
      // (PostgreSQL's detail lists the failing row) and a trigger naming them in its message.
      await db.query(`
        ALTER TABLE users ADD CONSTRAINT log_probe_check CHECK (email NOT LIKE 'log-check-%');
        CREATE FUNCTION log_probe() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.email LIKE 'log-raise-%' THEN
            RAISE EXCEPTION 'probe refused % with %', NEW.email, NEW.password_hash;
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER log_probe BEFORE INSERT ON users
          FOR EACH ROW EXECUTE FUNCTION log_probe();`);

      const post = (path: string, body: object, token?: string) =>
        fetch(`${base}/api/v1${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(body),
        });
      for (const email of [checkEmail, raiseEmail]) {
        expect((await post('/auth/register', { email, password, name: 'Probe' })).status).toBe(500);
      }

      // A checkout link, followed as the buyer's browser would.
      const signIn = async (role: 'admin' | 'customer') => {
        const email = `log-${role}-${randomUUID()}@example.com`;
        expect((await post('/auth/register', { email, password, name: role })).status).toBe(201);
        await db.query(`UPDATE users SET role = $2 WHERE email = $1`, [email, role]);
        return (
          (await (await post('/auth/login', { email, password })).json()) as {
            accessToken: string;
          }
        ).accessToken;
      };
      const admin = await signIn('admin');
      const event = (await (
        await post(
          '/events',
          {
            name: 'Log probe',
            venue: 'Arena',
            startsAt: new Date(Date.now() + 30 * 24 * 3600_000).toISOString(),
            ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 5 }],
          },
          admin,
        )
      ).json()) as { id: string; ticketTypes: { id: string }[] };
      const buyer = await signIn('customer');
      const booked = await post(
        `/events/${event.id}/bookings`,
        { ticketTypeId: event.ticketTypes[0].id, quantity: 1 },
        buyer,
      );
      expect(booked.status).toBe(201);
      const checkoutUrl = new URL(((await booked.json()) as { checkoutUrl: string }).checkoutUrl);
      checkoutToken = checkoutUrl.searchParams.get('token')!;
      checkoutPath = checkoutUrl.pathname;
      const followed = await fetch(checkoutUrl, { redirect: 'manual' });
      expect(followed.status).toBe(303);
    } finally {
      await db.end();
      child.kill('SIGTERM');
    }
    finished = await exited;
    records = finished.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LogRecord);
  }, 300_000);

  it('logs a failed query by where it failed, never with its values', () => {
    const failures = records.filter((record) => record.msg === 'Request failed');
    expect(failures).toHaveLength(2);
    expect(failures.map((record) => record.err)).toEqual([
      expect.objectContaining({
        type: 'QueryFailedError',
        code: '23514',
        constraint: 'log_probe_check',
        table: 'users',
        query: expect.stringMatching(/^INSERT INTO "users"/),
        stack: expect.stringContaining('QueryFailedError'),
      }),
      expect.objectContaining({
        type: 'QueryFailedError',
        code: 'P0001',
        message: 'probe refused [parameter] with [parameter]',
      }),
    ]);
    for (const failure of failures) {
      expect(Object.keys(failure.err!)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^(parameters|detail|driverError)$/)]),
      );
    }

    const log = `${finished.stdout}${finished.stderr}`;
    for (const secret of [checkEmail, raiseEmail, password, '$argon2', 'Failing row']) {
      expect(log).not.toContain(secret);
    }
  });

  it("logs a checkout link's request without its token", () => {
    const requests = records.filter((record) => record.req?.url.startsWith(checkoutPath));
    expect(requests).toEqual([
      expect.objectContaining({
        req: expect.objectContaining({ url: `${checkoutPath}?token=[redacted]` }),
      }),
    ]);
    expect(`${finished.stdout}${finished.stderr}`).not.toContain(checkoutToken);
  });
});
