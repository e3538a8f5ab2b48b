import { randomInt, randomUUID } from 'node:crypto';
import { postWebhook, sign, stripeEvent, WEBHOOK_SECRET } from '../support/payments-helpers';
import { PROBE_SECRET, ProbeModule } from '../support/probe.module';
import { createUser, expectProblem, startTestApp, type TestApp } from '../support/test-app';

const PASSWORD = 'correct horse battery';

/** Every failure answers RFC 9457 problem+json and never leaks what went wrong inside. */
describe('problem details', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp(
      // The simulator takes payments; the webhook verifies with a secret this suite knows.
      { AUTH_RATE_LIMIT: '0', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET },
      { imports: [ProbeModule] },
    );
  });
  afterAll(() => testApp.close());

  const json = (path: string, body: string) =>
    testApp.http().post(path).set('Content-Type', 'application/json').send(body);

  describe('400', () => {
    it('lists every invalid field with a message', async () => {
      const response = await testApp
        .http()
        .post('/api/v1/probe/echo')
        .send({ name: 7, count: 0, extra: true });
      const problem = expectProblem(response, 400);
      expect(problem.type).toBe('urn:tickets:problem:request.invalid');
      expect(problem.errors).toEqual(
        expect.arrayContaining([
          { field: 'name', message: 'name must be a string' },
          { field: 'count', message: 'count must not be less than 1' },
          { field: 'extra', message: 'property extra should not exist' },
        ]),
      );
      await testApp
        .http()
        .post('/api/v1/probe/echo')
        .send({ name: 'ok', count: 2 })
        .expect(200, { name: 'ok', count: 2 });
    });

    it('answers malformed JSON', async () => {
      const problem = expectProblem(await json('/api/v1/auth/register', '{"email": "a@b.c",'), 400);
      expect(problem.detail).toMatch(/JSON/);
      expectProblem(await json('/api/v1/probe/echo', "{'name': 'single quotes'}"), 400);
      expectProblem(await json('/api/v1/probe/echo', ''), 400);
    });

    it('refuses prototype pollution attempts', async () => {
      const response = await json(
        '/api/v1/probe/echo',
        '{"name": "x", "count": 1, "__proto__": {"polluted": true}}',
      );
      expectProblem(response, 400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('answers a malformed URL escape', async () => {
      expectProblem(await testApp.http().get('/api/v1/probe/%E0%A4%A'), 400);
    });

    it('refuses JSON nested deeper than 32 levels before anything builds or reads it', async () => {
      const nested = (depth: number) =>
        `{"name": "x", "count": 1, "extra": ${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
      for (const body of [nested(33), `${'['.repeat(5_000)}${']'.repeat(5_000)}`]) {
        const problem = expectProblem(await json('/api/v1/probe/echo', body), 400);
        expect(problem.detail).toBe('The JSON body nests deeper than 32 levels.');
      }
      expectProblem(
        await json('/api/v1/auth/login', `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`),
        400,
      );
      // 32 levels pass the parser: the validation pipe answers (the field is unknown).
      const read = expectProblem(await json('/api/v1/probe/echo', nested(32)), 400);
      expect(read.errors).toEqual([{ field: 'extra', message: 'property extra should not exist' }]);
      // Brackets inside strings do not count.
      await json(
        '/api/v1/probe/echo',
        JSON.stringify({ name: '['.repeat(1_000), count: 1 }),
      ).expect(200);
    });

    it('refuses NUL and unpaired surrogates in every string: body, property names, query, path', async () => {
      const echo = (body: string) => json('/api/v1/probe/echo', body);
      expect(expectProblem(await echo('{"name": "a\\u0000b", "count": 1}'), 400).errors).toEqual([
        { field: 'name', message: 'name must not contain a NUL character' },
      ]);
      for (const lone of ['\\ud800', 'x\\udc00', '\\udc00\\ud800']) {
        expect(expectProblem(await echo(`{"name": "${lone}", "count": 1}`), 400).errors).toEqual([
          {
            field: 'name',
            message: 'name must be well-formed Unicode (it has an unpaired surrogate)',
          },
        ]);
      }
      // Nested values and property names too, each listed.
      const nested = expectProblem(
        await echo('{"name": "ok", "count": 1, "tags": ["x", "\\ud800"], "a\\u0000b": 1}'),
        400,
      );
      expect(nested.errors).toEqual(
        expect.arrayContaining([
          { field: 'tags[1]', message: expect.stringMatching(/^tags\[1\] must be well-formed/) },
          { field: '"a\\u0000b"', message: 'property name must not contain a NUL character' },
        ]),
      );
      // A surrogate pair is a character like any other.
      await echo(JSON.stringify({ name: 'Zoë 😀', count: 1 })).expect(200, {
        name: 'Zoë 😀',
        count: 1,
      });

      const query = expectProblem(await testApp.http().get('/api/v1/events?q=a%00b'), 400);
      expect(query.errors).toEqual([{ field: 'q', message: 'q must not contain a NUL character' }]);
      const path = expectProblem(await testApp.http().get('/api/v1/events/%00'), 400);
      expect(path.errors).toEqual([
        { field: 'id', message: 'id must not contain a NUL character' },
      ]);
    });

    it('bounds page × pageSize at 10,000 on every list', async () => {
      const customer = await createUser(testApp);
      for (const list of ['/api/v1/events', '/api/v1/orders', '/api/v1/waitlist']) {
        const get = (query: string) =>
          testApp.http().get(`${list}?${query}`).set('Authorization', `Bearer ${customer.token}`);
        for (const query of ['page=1e21', 'page=101&pageSize=100', 'page=10001']) {
          expect(expectProblem(await get(query), 400).errors).toEqual([
            {
              field: 'page',
              message: 'page × pageSize must be at most 10000; narrow the list with its filters',
            },
          ]);
        }
        await get('page=100&pageSize=100').expect(200);
        await get('page=10000&pageSize=1').expect(200);
      }
    });

    it("leaves a signed webhook body alone: a buyer's NUL or lone surrogate is Stripe's to send", async () => {
      const event = stripeEvent('customer.updated', {
        id: 'cus_test_text',
        object: 'customer',
        name: 'Zo\u0000ë \ud83d',
        metadata: { 'note\u0000': '\udc00' },
      });
      await postWebhook(testApp, event.payload, sign(event.payload)).expect(200, {
        received: true,
      });
      // The signature is still what lets it in.
      expectProblem(await postWebhook(testApp, event.payload, 'not a signature'), 400);
    });

    it('reads JSON only: a form body is 415', async () => {
      expectProblem(
        await testApp
          .http()
          .post('/api/v1/probe/echo')
          .set('Content-Type', 'application/x-www-form-urlencoded')
          .send('name=x&count=1'),
        415,
      );
    });
  });

  it('401: no or bad credentials', async () => {
    expectProblem(await testApp.http().get('/api/v1/probe/signed-in'), 401);
    expectProblem(
      await testApp.http().get('/api/v1/probe/signed-in').set('Authorization', 'Bearer nonsense'),
      401,
    );
  });

  it('403: authenticated but not allowed', async () => {
    const customer = await createUser(testApp);
    const problem = expectProblem(
      await testApp
        .http()
        .get('/api/v1/probe/admin')
        .set('Authorization', `Bearer ${customer.token}`),
      403,
    );
    expect(problem.detail).toMatch(/admin/);
  });

  it('404: unknown routes, inside and outside the API prefix, any method', async () => {
    expectProblem(await testApp.http().get('/api/v1/no-such-thing'), 404);
    expectProblem(await testApp.http().post('/api/v1/no-such-thing').send({}), 404);
    expectProblem(await testApp.http().delete('/api/v1/auth/me'), 404);
    expectProblem(await testApp.http().get('/no-such-thing'), 404);
    // The health routes live outside the prefix only.
    expectProblem(await testApp.http().get('/api/v1/health/live'), 404);
  });

  it('409: a conflict with the current state', async () => {
    const problem = expectProblem(await testApp.http().post('/api/v1/probe/conflict'), 409);
    expect(problem).toEqual({
      type: 'urn:tickets:problem:probe.conflict',
      title: 'Conflict',
      status: 409,
      detail: 'The probe is in a state that does not allow this.',
    });

    const email = `conflict-${randomUUID()}@example.com`;
    const body = { email, password: PASSWORD, name: 'Twice' };
    await testApp.http().post('/api/v1/auth/register').send(body).expect(201);
    expectProblem(await testApp.http().post('/api/v1/auth/register').send(body), 409);
  });

  it('413: a body over 100 kB, while one just under is read', async () => {
    const padding = (bytes: number) => JSON.stringify({ name: 'x'.repeat(bytes), count: 1 });
    const tooLarge = await json('/api/v1/probe/echo', padding(101 * 1024));
    expectProblem(tooLarge, 413);
    expectProblem(
      await json(
        '/api/v1/auth/register',
        JSON.stringify({ email: 'big@example.com', password: 'x'.repeat(120 * 1024), name: 'B' }),
      ),
      413,
    );

    const justUnder = await json('/api/v1/probe/echo', padding(99 * 1024)).expect(200);
    expect(justUnder.body.name).toHaveLength(99 * 1024);
  });

  it('431: headers, or a URL, over 16 kB', async () => {
    const long = 'x'.repeat(17 * 1024);
    for (const response of [
      await testApp.http().get('/api/v1/events').set('X-Padding', long),
      await testApp.http().get(`/api/v1/events?q=${long}`),
    ]) {
      const problem = expectProblem(response, 431);
      expect(problem.detail).toBe('The request headers (or its URL) are over 16 kB.');
    }
  });

  it('415: a body in a format the API does not read', async () => {
    expectProblem(
      await testApp
        .http()
        .post('/api/v1/probe/echo')
        .set('Content-Type', 'application/xml')
        .send('<probe/>'),
      415,
    );
  });

  describe('500', () => {
    it('hides an unexpected error behind a generic message', async () => {
      const response = await testApp
        .http()
        .get('/api/v1/probe/crash')
        .set('X-Request-Id', 'probe-crash-1');
      const problem = expectProblem(response, 500);
      expect(problem).toEqual({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        detail: 'The server could not complete the request.',
      });
      expect(response.text).not.toContain(PROBE_SECRET);
      expect(response.text).not.toMatch(/Error:|\.ts|\.js/);
      // The request id (ours or the client's) is how the logs are found.
      expect(response.headers['x-request-id']).toBe('probe-crash-1');
    });

    it('never answers with SQL or a driver message', async () => {
      const response = await testApp.http().get('/api/v1/probe/sql-crash');
      expectProblem(response, 500);
      expect(response.text).not.toContain(PROBE_SECRET);
      expect(response.text).not.toMatch(/SELECT|relation|does not exist|QueryFailed/i);
    });
  });
});

describe('problem details: 429', () => {
  let limited: TestApp;

  beforeAll(async () => {
    // A client address of its own (TRUST_PROXY) so no other suite's requests count here.
    limited = await startTestApp({ AUTH_RATE_LIMIT: '1', TRUST_PROXY: '1' });
  });
  afterAll(() => limited.close());

  it('answers too many requests with problem+json and Retry-After', async () => {
    const ip = `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
    const login = () =>
      limited
        .http()
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ email: `nobody-${randomUUID()}@example.com`, password: 'nothing at all' });
    expectProblem(await login(), 401);
    const refused = await login();
    expectProblem(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });
});
