import { randomInt, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ProbeModule } from '../support/probe.module';
import { createUser, expectProblem, startTestApp, type TestApp } from '../support/test-app';

const PASSWORD = 'correct horse battery';
const JWT_SECRET = process.env.JWT_SECRET as string;
const USER_KEYS = ['createdAt', 'email', 'id', 'name', 'phone', 'role'];

function uniqueEmail(prefix: string): string {
  return `${prefix}-${randomUUID()}@example.com`;
}

/** A client address of its own, so the per-IP counters in the shared Redis start at zero. */
function uniqueIp(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

const base64url = (value: object): string =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

describe('auth', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    // The per-IP limit is off here (its own tests below start their own apps); TRUST_PROXY
    // lets a test speak from several client addresses.
    testApp = await startTestApp(
      { AUTH_RATE_LIMIT: '0', TRUST_PROXY: '1' },
      { imports: [ProbeModule] },
    );
  });
  afterAll(() => testApp.close());

  const register = (body: Record<string, unknown>) =>
    testApp.http().post('/api/v1/auth/register').send(body);
  const login = (email: string, password: string, ip = '127.0.0.1') =>
    testApp.http().post('/api/v1/auth/login').set('X-Forwarded-For', ip).send({ email, password });
  const me = (authorization?: string) => {
    const call = testApp.http().get('/api/v1/auth/me');
    return authorization === undefined ? call : call.set('Authorization', authorization);
  };

  describe('register, login, me', () => {
    it('registers a user and answers a User without any password hash', async () => {
      const email = uniqueEmail('Ada.Register');
      const response = await register({
        email: `  ${email}  `,
        password: PASSWORD,
        name: '  Ada Lovelace ',
        phone: '+44 20 7946 0958',
      }).expect(201);

      expect(Object.keys(response.body).sort()).toEqual(USER_KEYS);
      expect(response.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: email.toLowerCase(),
        name: 'Ada Lovelace',
        phone: '+44 20 7946 0958',
        role: 'customer',
        createdAt: expect.any(String),
      });
      expect(new Date(response.body.createdAt).toISOString()).toBe(response.body.createdAt);
      expect(response.text).not.toMatch(/argon2|password/i);

      const [row] = await testApp.dataSource.query(
        'SELECT password_hash FROM users WHERE id = $1',
        [response.body.id],
      );
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
      expect(row.password_hash).not.toContain(PASSWORD);
    });

    it('logs in (any letter case of the email) and answers the same User on /me', async () => {
      const email = uniqueEmail('grace');
      const registered = await register({ email, password: PASSWORD, name: 'Grace' }).expect(201);
      expect(registered.body.phone).toBeNull();

      const session = await login(email.toUpperCase(), PASSWORD).expect(200);
      expect(session.body).toEqual({
        accessToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 3600,
      });
      const claims = decodePayload(session.body.accessToken);
      expect(claims).toEqual(
        expect.objectContaining({ sub: registered.body.id, role: 'customer' }),
      );
      expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);

      const profile = await me(`Bearer ${session.body.accessToken}`).expect(200);
      expect(profile.body).toEqual(registered.body);
      expect(profile.text).not.toMatch(/argon2|password/i);
    });

    it('refuses a duplicate email in another letter case with 409 and keeps one account', async () => {
      const email = uniqueEmail('dup');
      await register({ email, password: PASSWORD, name: 'First' }).expect(201);

      const again = await register({
        email: email.toUpperCase(),
        password: 'another password',
        name: 'Second',
      });
      const problem = expectProblem(again, 409);
      expect(problem.type).toMatch(/email_taken/);

      const [{ count }] = await testApp.dataSource.query(
        'SELECT count(*)::int AS count FROM users WHERE email = $1',
        [email.toLowerCase()],
      );
      expect(count).toBe(1);
      await login(email, PASSWORD).expect(200);
    });

    it('lists every invalid field: bad email, short password, unknown field, bad phone', async () => {
      const email = uniqueEmail('invalid');
      const response = await register({
        email: 'not-an-email',
        password: 'short',
        name: '   ',
        phone: 'call me',
        role: 'admin',
      });
      const problem = expectProblem(response, 400);
      const errors = problem.errors as { field: string; message: string }[];
      expect(errors).toEqual(
        expect.arrayContaining([
          { field: 'email', message: expect.any(String) },
          { field: 'password', message: expect.stringMatching(/8/) },
          { field: 'name', message: expect.any(String) },
          { field: 'phone', message: expect.any(String) },
          { field: 'role', message: expect.stringMatching(/should not exist/) },
        ]),
      );
      expect(new Set(errors.map((error) => error.field))).toEqual(
        new Set(['email', 'password', 'name', 'phone', 'role']),
      );

      // A valid body with a field the API does not know is refused too: no mass assignment.
      const withRole = await register({ email, password: PASSWORD, name: 'Eve', role: 'admin' });
      expect((expectProblem(withRole, 400).errors as { field: string }[])[0].field).toBe('role');
      await login(email, PASSWORD).expect(401);
    });

    it('lists every field of the wrong type, and a too long password', async () => {
      const wrongTypes = await register({ email: 42, password: 12345678, name: ['Ada'] });
      expect(
        new Set((expectProblem(wrongTypes, 400).errors as { field: string }[]).map((e) => e.field)),
      ).toEqual(new Set(['email', 'password', 'name']));

      const tooLong = await register({
        email: uniqueEmail('long'),
        password: 'x'.repeat(129),
        name: 'n'.repeat(101),
      });
      expect(
        new Set((expectProblem(tooLong, 400).errors as { field: string }[]).map((e) => e.field)),
      ).toEqual(new Set(['password', 'name']));

      const badLogin = await testApp
        .http()
        .post('/api/v1/auth/login')
        .send({ email: 'nobody', password: 5 });
      expect(
        new Set((expectProblem(badLogin, 400).errors as { field: string }[]).map((e) => e.field)),
      ).toEqual(new Set(['email', 'password']));
    });

    it('answers an unknown user and a wrong password with identical 401 bodies', async () => {
      const email = uniqueEmail('known');
      await register({ email, password: PASSWORD, name: 'Known' }).expect(201);

      const unknown = await login(uniqueEmail('unknown'), PASSWORD);
      const wrongPassword = await login(email, 'wrong password');
      expectProblem(unknown, 401);
      expectProblem(wrongPassword, 401);
      expect(unknown.text).toBe(wrongPassword.text);
      expect(unknown.body.detail).not.toMatch(/unknown|exist|not found/i);
    });
  });

  describe('bearer tokens', () => {
    let token: string;
    let userId: string;

    beforeAll(async () => {
      const user = await createUser(testApp);
      token = user.token;
      userId = user.id;
    });

    it('accepts the token login issued', async () => {
      const response = await me(`Bearer ${token}`).expect(200);
      expect(response.body.id).toBe(userId);
    });

    it('refuses a missing, empty or non-bearer Authorization with 401', async () => {
      expectProblem(await me(), 401);
      expectProblem(await me('Bearer'), 401);
      expectProblem(await me('Bearer '), 401);
      expectProblem(await me(`Basic ${Buffer.from('a:b').toString('base64')}`), 401);
      expectProblem(await me(token), 401);
    });

    it('refuses malformed tokens with 401', async () => {
      expectProblem(await me('Bearer not-a-jwt'), 401);
      expectProblem(await me('Bearer a.b.c'), 401);
      expectProblem(await me(`Bearer ${token.split('.').slice(0, 2).join('.')}`), 401);
      expectProblem(await me(`Bearer ${token}x`), 401);
    });

    it('refuses a token whose signature or payload was changed with 401', async () => {
      const [header, payload, signature] = token.split('.');
      const middle = Math.floor(signature.length / 2);
      const flipped = signature[middle] === 'A' ? 'B' : 'A';
      const badSignature = `${signature.slice(0, middle)}${flipped}${signature.slice(middle + 1)}`;
      expectProblem(await me(`Bearer ${header}.${payload}.${badSignature}`), 401);

      const elevated = base64url({ ...decodePayload(token), role: 'admin' });
      expectProblem(await me(`Bearer ${header}.${elevated}.${signature}`), 401);

      const otherKey = jwt.sign({ sub: userId, role: 'customer' }, `${JWT_SECRET}-other`, {
        algorithm: 'HS256',
        expiresIn: 600,
      });
      expectProblem(await me(`Bearer ${otherKey}`), 401);
    });

    it('refuses an expired token with 401', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = jwt.sign(
        { sub: userId, role: 'customer', iat: now - 7200, exp: now - 3600 },
        JWT_SECRET,
        { algorithm: 'HS256' },
      );
      expectProblem(await me(`Bearer ${expired}`), 401);

      const stillValid = jwt.sign({ sub: userId, role: 'customer' }, JWT_SECRET, {
        algorithm: 'HS256',
        expiresIn: 600,
      });
      await me(`Bearer ${stillValid}`).expect(200);
    });

    it('refuses `alg: none` and other algorithms than HS256 with 401', async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { sub: userId, role: 'admin', iat: now, exp: now + 600 };
      const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
      expectProblem(await me(`Bearer ${unsigned}`), 401);
      const noneAsNamedByAttackers = `${base64url({ alg: 'NONE', typ: 'JWT' })}.${base64url(claims)}.`;
      expectProblem(await me(`Bearer ${noneAsNamedByAttackers}`), 401);
      const viaLibrary = jwt.sign(claims, '', { algorithm: 'none' });
      expectProblem(await me(`Bearer ${viaLibrary}`), 401);

      const hs512 = jwt.sign(claims, JWT_SECRET, { algorithm: 'HS512' });
      expectProblem(await me(`Bearer ${hs512}`), 401);
    });

    it('refuses a well-signed token without a subject or with an unknown role', async () => {
      const noSubject = jwt.sign({ role: 'customer' }, JWT_SECRET, {
        algorithm: 'HS256',
        expiresIn: 600,
      });
      expectProblem(await me(`Bearer ${noSubject}`), 401);
      const badRole = jwt.sign({ sub: userId, role: 'root' }, JWT_SECRET, {
        algorithm: 'HS256',
        expiresIn: 600,
      });
      expectProblem(await me(`Bearer ${badRole}`), 401);
    });

    it('refuses the token of a deleted account on /me', async () => {
      const doomed = await createUser(testApp);
      await testApp.dataSource.query('DELETE FROM users WHERE id = $1', [doomed.id]);
      expectProblem(await me(`Bearer ${doomed.token}`), 401);
    });
  });

  describe('roles', () => {
    const adminRoute = (token?: string) => {
      const call = testApp.http().get('/api/v1/probe/admin');
      return token ? call.set('Authorization', `Bearer ${token}`) : call;
    };

    it('asks for credentials (401) before the role (403)', async () => {
      expectProblem(await adminRoute(), 401);
    });

    it('refuses a customer (403) and admits an admin', async () => {
      const customer = await createUser(testApp);
      const admin = await createUser(testApp, { admin: true });
      expectProblem(await adminRoute(customer.token), 403);
      await adminRoute(admin.token).expect(200, { ok: true });
      // Any signed-in user passes where no role is required.
      await testApp
        .http()
        .get('/api/v1/probe/signed-in')
        .set('Authorization', `Bearer ${customer.token}`)
        .expect(200);
    });

    it('refuses a revoked admin at once, with the token it still holds', async () => {
      const admin = await createUser(testApp, { admin: true });
      await adminRoute(admin.token).expect(200);
      await testApp.dataSource.query(`UPDATE users SET role = 'customer' WHERE id = $1`, [
        admin.id,
      ]);
      expectProblem(await adminRoute(admin.token), 403);
      await testApp.dataSource.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.id]);
      await adminRoute(admin.token).expect(200);
    });

    it('does not trust a role claim in a token over the stored role', async () => {
      const customer = await createUser(testApp);
      const claimsAdmin = jwt.sign({ sub: customer.id, role: 'admin' }, JWT_SECRET, {
        algorithm: 'HS256',
        expiresIn: 600,
      });
      expectProblem(await adminRoute(claimsAdmin), 403);
    });
  });

  describe('failed logins per email address', () => {
    it('answers the 11th attempt within 15 minutes with 429 and Retry-After, even with the right password, from any IP', async () => {
      const email = uniqueEmail('guessed');
      await register({ email, password: PASSWORD, name: 'Target' }).expect(201);
      const bystander = uniqueEmail('bystander');
      await register({ email: bystander, password: PASSWORD, name: 'Bystander' }).expect(201);

      for (let attempt = 1; attempt <= 10; attempt += 1) {
        const spelled = attempt % 2 === 0 ? email.toUpperCase() : email;
        expectProblem(await login(spelled, `wrong password ${attempt}`, uniqueIp()), 401);
      }

      const blocked = await login(email, PASSWORD, uniqueIp());
      const problem = expectProblem(blocked, 429);
      expect(problem.type).toMatch(/too_many_failures/);
      const retryAfter = Number(blocked.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);

      // Only that address is locked.
      await login(bystander, PASSWORD).expect(200);
    });
  });
});

/**
 * 50 wrong passwords for one address at once: the attempts are counted before they are
 * checked, so exactly 10 get through to a 401 and the other 40 are refused with 429; the
 * right password is refused too while the address is locked. With Redis (shared by every
 * instance) and without (one in-process store).
 */
describe.each([
  ['Redis', {}],
  ['in-process (no REDIS_URL)', { REDIS_URL: '' }],
])('auth: failed logins racing, %s', (_store, overrides: Record<string, string>) => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0', TRUST_PROXY: '1', ...overrides });
  });
  afterAll(() => testApp?.close());

  const login = (email: string, password: string) =>
    testApp
      .http()
      .post('/api/v1/auth/login')
      .set('X-Forwarded-For', uniqueIp())
      .send({ email, password });

  it('lets exactly 10 parallel wrong passwords through, refuses the other 40 and then the right one', async () => {
    const email = uniqueEmail('raced');
    await testApp
      .http()
      .post('/api/v1/auth/register')
      .send({ email, password: PASSWORD, name: 'Raced' })
      .expect(201);

    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, attempt) => login(email, `wrong password ${attempt}`)),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(40);
    for (const refused of responses.filter((response) => response.status === 429)) {
      expectProblem(refused, 429);
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }

    expectProblem(await login(email, PASSWORD), 429);
  });

  it('does not count a correct password as a failure', async () => {
    const email = uniqueEmail('regular');
    await testApp
      .http()
      .post('/api/v1/auth/register')
      .send({ email, password: PASSWORD, name: 'Regular' })
      .expect(201);
    for (let attempt = 1; attempt <= 9; attempt += 1) {
      expectProblem(await login(email, `wrong password ${attempt}`), 401);
    }
    // Counted while being checked, then given back: it would be the 10th and 11th failure.
    await login(email, PASSWORD).expect(200);
    await login(email, PASSWORD).expect(200);
    expectProblem(await login(email, 'wrong password 10'), 401);
    expectProblem(await login(email, PASSWORD), 429);
  });
});

describe('auth: per-IP rate limit', () => {
  let limited: TestApp;
  let unlimited: TestApp;

  beforeAll(async () => {
    // TRUST_PROXY: each test speaks from a client address of its own (X-Forwarded-For), so
    // no other suite's requests from 127.0.0.1 count, and none of them is blocked by these.
    limited = await startTestApp({ AUTH_RATE_LIMIT: '3', TRUST_PROXY: '1' });
    unlimited = await startTestApp({ AUTH_RATE_LIMIT: '0', TRUST_PROXY: '1' });
  });
  afterAll(async () => {
    await limited?.close();
    await unlimited?.close();
  });

  it('answers register beyond AUTH_RATE_LIMIT per minute with 429 problem+json and Retry-After', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 3; i += 1) {
      await limited
        .http()
        .post('/api/v1/auth/register')
        .set('X-Forwarded-For', ip)
        .send({ email: uniqueEmail('limited'), password: PASSWORD, name: 'Limited' })
        .expect(201);
    }
    const email = uniqueEmail('limited');
    const refused = await limited
      .http()
      .post('/api/v1/auth/register')
      .set('X-Forwarded-For', ip)
      .send({ email, password: PASSWORD, name: 'Limited' });
    expectProblem(refused, 429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Refused before anything was written.
    const rows = await limited.dataSource.query('SELECT 1 FROM users WHERE email = $1', [email]);
    expect(rows).toHaveLength(0);

    // Another client is not affected.
    await limited
      .http()
      .post('/api/v1/auth/register')
      .set('X-Forwarded-For', uniqueIp())
      .send({ email, password: PASSWORD, name: 'Limited' })
      .expect(201);
  });

  it('limits login the same way, whatever the answers were', async () => {
    const ip = uniqueIp();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await limited
        .http()
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ email: uniqueEmail('nobody'), password: 'whatever it is' });
      statuses.push(response.status);
      if (i === 3) {
        expectProblem(response, 429);
        expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('does not limit at all with AUTH_RATE_LIMIT=0', async () => {
    const ip = uniqueIp();
    const responses = await Promise.all(
      Array.from({ length: 40 }, () =>
        unlimited
          .http()
          .post('/api/v1/auth/register')
          .set('X-Forwarded-For', ip)
          .send({ email: 'not-an-email' }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(40).fill(400));
    await unlimited
      .http()
      .post('/api/v1/auth/register')
      .set('X-Forwarded-For', ip)
      .send({ email: uniqueEmail('unlimited'), password: PASSWORD, name: 'Unlimited' })
      .expect(201);
  });
});
