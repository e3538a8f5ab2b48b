import { randomInt, randomUUID } from 'node:crypto';
import { expectProblem, startTestApp, type TestApp } from '../support/test-app';

const LIMIT = 3;
const REGISTRATIONS = 1_000;
/** In flight at once: enough to race, few enough for a shared 2-core machine. */
const PARALLEL = 50;

/** A client address of its own, so the per-IP counters in the shared Redis start at zero. */
function uniqueClient(): string {
  return `198.51.${randomInt(256)}.${randomInt(1, 255)}`;
}

/** An address the attacker makes up, a new one every request. */
function forged(i: number): string {
  return `203.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/**
 * The test plays the proxy in front of the server (it connects from 127.0.0.1): the client
 * sends an X-Forwarded-For of its choosing, and the proxy appends the address it saw. The
 * per-IP AUTH_RATE_LIMIT must count that address, whatever the client wrote.
 */
describe.each([
  ['a hop count', '1'],
  ['the proxy address', '127.0.0.1'],
  ['the proxy network', '127.0.0.0/8, ::1'],
])('TRUST_PROXY as %s', (_kind, trustProxy) => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: String(LIMIT), TRUST_PROXY: trustProxy });
  });
  afterAll(() => testApp?.close());

  it(`limits ${REGISTRATIONS} registrations with ${REGISTRATIONS} forged X-Forwarded-For values as one client`, async () => {
    const client = uniqueClient();
    const run = randomUUID();
    const statuses: number[] = [];
    for (let start = 0; start < REGISTRATIONS; start += PARALLEL) {
      const batch = await Promise.all(
        Array.from({ length: PARALLEL }, (_, j) =>
          testApp
            .http()
            .post('/api/v1/auth/register')
            .set('X-Forwarded-For', `${forged(start + j)}, ${client}`)
            .send({
              email: `forged-${run}-${start + j}@example.com`,
              password: 'correct horse battery',
              name: 'Forged',
            }),
        ),
      );
      statuses.push(...batch.map((response) => response.status));
      if (start === 0)
        expectProblem(
          batch.find((response) => response.status === 429)!,
          429,
        );
    }
    expect(statuses.filter((status) => status === 201)).toHaveLength(LIMIT);
    expect(statuses.filter((status) => status === 429)).toHaveLength(REGISTRATIONS - LIMIT);
    const [{ count }]: { count: number }[] = await testApp.dataSource.query(
      `SELECT count(*)::int AS count FROM users WHERE email LIKE $1`,
      [`forged-${run}-%`],
    );
    expect(count).toBe(LIMIT);

    // Another client behind the same proxy has its own quota.
    await testApp
      .http()
      .post('/api/v1/auth/register')
      .set('X-Forwarded-For', `${forged(0)}, ${uniqueClient()}`)
      .send({
        email: `forged-${run}-other@example.com`,
        password: 'correct horse battery',
        name: 'Other',
      })
      .expect(201);
  });
});
