import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { FAKE_STRIPE_SECRET_KEY } from '../fakes/stripe-client';
import { StripeFake } from '../fakes/stripe-server';
import { eventually } from '../support/eventually';
import { ensureBuilt } from '../support/processes';
import { RedisServer } from '../support/redis-server';
import {
  accessProblem,
  CALLERS,
  type Caller,
  EXPECTED_ACCESS,
  openIdleSockets,
  slowloris,
} from './support/abuse';
import { AppProcess, CHAOS_JWT_SECRET } from './support/app-process';
import {
  CHAOS_WEBHOOK_SECRET,
  signWebhook,
  stripeEvent,
  stripeFakeSettings,
} from './support/payer';
import { inFullProfile, profile } from './support/profile';
import { recordCheck } from './support/report';
import { stormAround } from './support/scenario';
import { type Buyer, chaosDatabase, createBuyers, createEvent, signToken } from './support/world';

interface Operation {
  method: string;
  path: string;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  parameters?: { name: string; in: string; schema?: Schema }[];
}
interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}
interface Answer {
  status: number;
  contentType: string;
  text: string;
}

/** Abuse of the public surface: roles, tokens, arbitrary bodies, replays, slow clients. */
describe('chaos: abuse', () => {
  let redis: RedisServer;
  let control: Redis;
  let fake: StripeFake;
  let app: AppProcess;
  let db: Pool;
  let operations: Operation[];
  let schemas: Record<string, Schema>;
  const callers = {} as Record<Exclude<Caller, 'anonymous'>, Buyer & { password: string }>;
  /** Everything secret the logs must never show. */
  const secrets: string[] = [CHAOS_JWT_SECRET, CHAOS_WEBHOOK_SECRET, FAKE_STRIPE_SECRET_KEY];

  const call = async (
    method: string,
    path: string,
    { token, body }: { token?: string; body?: string } = {},
  ): Promise<Answer> => {
    const answer = await fetch(`${app.url}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body,
    });
    return {
      status: answer.status,
      contentType: answer.headers.get('content-type') ?? '',
      text: await answer.text(),
    };
  };

  const problemOf = (answer: Answer): string | null => {
    if (answer.status >= 500) return `answered ${answer.status}: ${answer.text.slice(0, 200)}`;
    if (answer.status >= 400 && !/^application\/problem\+json/.test(answer.contentType)) {
      return `${answer.status} is not problem+json (${answer.contentType})`;
    }
    return null;
  };

  const signUp = async (role: string) => {
    const password = `Pw-${randomBytes(9).toString('base64url')}`;
    const email = `abuse-${role}-${randomBytes(4).toString('hex')}@example.com`;
    const registered = await call('POST', '/api/v1/auth/register', {
      body: JSON.stringify({ email, password, name: `Abuse ${role}` }),
    });
    expect(registered.status).toBe(201);
    const { id } = JSON.parse(registered.text) as { id: string };
    if (role !== 'customer') await db.query('UPDATE users SET role = $2 WHERE id = $1', [id, role]);
    const login = await call('POST', '/api/v1/auth/login', {
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);
    const { accessToken } = JSON.parse(login.text) as { accessToken: string };
    secrets.push(password, accessToken);
    return { id, token: accessToken, password };
  };

  beforeAll(async () => {
    await ensureBuilt();
    redis = await RedisServer.start();
    control = redis.client();
    await control.connect();
    fake = await StripeFake.start();
    const database = await chaosDatabase('abuse');
    db = database.db;
    app = await AppProcess.start({
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      ...stripeFakeSettings(fake),
      // Request lines and errors are logged: what the log scan reads.
      LOG_LEVEL: 'info',
    });
    callers.customer = await signUp('customer');
    callers.another = await signUp('customer');
    callers.staff = await signUp('staff');
    callers.admin = await signUp('admin');
    const document = (await (await fetch(`${app.url}/docs-json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, Schema> };
    };
    schemas = document.components.schemas;
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        ...operation,
        method: method.toUpperCase(),
        path,
      })),
    );
  }, 180_000);

  afterAll(async () => {
    await app?.stop();
    await fake?.close();
    control?.disconnect();
    await redis?.stop();
    await db?.end();
  });

  /** Real ids for the path parameters: an event, its type, the customer's own order. */
  const pathFor = async (path: string): Promise<string> => {
    const event = await createEvent(app.url, callers.admin, [20]);
    const booked = await call('POST', `/api/v1/events/${event.id}/bookings`, {
      token: callers.customer.token,
      body: JSON.stringify({ ticketTypeId: event.ticketTypes[0].id, quantity: 1 }),
    });
    const { order } = JSON.parse(booked.text) as { order: { id: string } };
    const isOrder = /^\/api\/v1\/orders\//.test(path);
    return path
      .replace('{id}', isOrder ? order.id : event.id)
      .replace('{typeId}', event.ticketTypes[0].id)
      .replace('{orderId}', order.id)
      .replace('{sessionId}', 'cs_test_unknown')
      .replace('{outcome}', 'success');
  };

  it('authorization matrix: every route of the OpenAPI document × every kind of caller', async () => {
    const unknown = operations
      .map((operation) => `${operation.method} ${operation.path}`)
      .filter((key) => !EXPECTED_ACCESS[key]);
    if (unknown.length > 0) {
      process.stdout.write(
        `Routes with no expectation in test/chaos/support/abuse.ts (add them):\n  ${unknown.join('\n  ')}\n`,
      );
    }
    const violations: string[] = unknown.map((key) => `${key}: no expected access`);
    let requests = 0;
    for (const operation of operations) {
      const key = `${operation.method} ${operation.path}`;
      const expected = EXPECTED_ACCESS[key];
      if (!expected) continue;
      // A fresh event and order per route: a caller's cancel does not change the next one's.
      const path = await pathFor(operation.path);
      for (const caller of CALLERS) {
        const token = caller === 'anonymous' ? undefined : callers[caller].token;
        const body = operation.requestBody ? '{}' : undefined;
        const answer = await call(operation.method, path, { token, body });
        requests += 1;
        const problem = accessProblem(expected[caller], answer.status) ?? problemOf(answer);
        if (problem) violations.push(`${key} as ${caller}: ${problem}`);
      }
    }
    recordCheck(
      `abuse: authz matrix (${operations.length} routes × 5)`,
      requests,
      violations.length,
    );
    expect(violations).toEqual([]);
  });

  it('forged, expired, future and oversized tokens are refused with 401', async () => {
    const { id } = callers.customer;
    const header = (json: object) => Buffer.from(JSON.stringify(json)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const tokens: Record<string, string> = {
      'alg none': `${header({ alg: 'none', typ: 'JWT' })}.${header({ sub: id, role: 'admin', iat: now, exp: now + 3600 })}.`,
      'another secret': signToken(
        { sub: id, role: 'customer' },
        { secret: 'another-secret-that-is-long-enough-0123456789' },
      ),
      expired: signToken({ sub: id, role: 'customer' }, { expiresIn: -60 }),
      'far-future iat': signToken({ sub: id, role: 'customer', iat: now + 10 * 365 * 86400 } as {
        sub: string;
        role: string;
      }),
      // Forged and huge: refused without choking the server.
      '10 kB long': signToken(
        { sub: id, role: 'admin', pad: 'x'.repeat(10_000) } as { sub: string; role: string },
        { secret: 'another-secret-that-is-long-enough-0123456789' },
      ),
      'role not a role': signToken({ sub: id, role: 'root' }),
      garbage: 'not.a.token',
    };
    secrets.push(...Object.values(tokens).filter((token) => token.length > 20));
    const violations: string[] = [];
    for (const [what, token] of Object.entries(tokens)) {
      const answer = await call('GET', '/api/v1/auth/me', { token });
      if (answer.status !== 401) violations.push(`${what}: answered ${answer.status}`);
      const problem = problemOf(answer);
      if (problem) violations.push(`${what}: ${problem}`);
    }
    // The genuine token works, so the refusals are about the tokens.
    expect((await call('GET', '/api/v1/auth/me', { token: callers.customer.token })).status).toBe(
      200,
    );
    recordCheck('abuse: bad tokens', Object.keys(tokens).length, violations.length);
    expect(violations).toEqual([]);
  });

  it('property-based bodies and queries for every operation: never a 5xx, always problem+json', async () => {
    const resolve = (schema: Schema | undefined): Schema | undefined =>
      schema?.$ref ? schemas[schema.$ref.split('/').pop()!] : schema;
    const valueOf = (schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> => {
      const resolved = resolve(schema);
      const anything = fc.jsonValue({ maxDepth: 2 });
      if (!resolved || depth > 2) return anything;
      const typed: Record<string, fc.Arbitrary<unknown>> = {
        string: fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.constantFrom('', ' ', '\u0000', 'x'.repeat(5000)),
        ),
        integer: fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2 ** 53, Number.MAX_SAFE_INTEGER)),
        number: fc.double(),
        boolean: fc.boolean(),
        array: fc.array(valueOf(resolved.items, depth + 1), { maxLength: 30 }),
      };
      if (resolved.properties) {
        const model = Object.fromEntries(
          Object.entries(resolved.properties).map(([name, property]) => [
            name,
            fc.oneof(valueOf(property, depth + 1), anything),
          ]),
        );
        return fc.oneof(
          fc.record(model, { requiredKeys: [] }),
          fc.record({ ...model, unexpected: anything }, { requiredKeys: [] }),
        );
      }
      return fc.oneof(typed[resolved.type ?? ''] ?? anything, anything);
    };

    const violations: string[] = [];
    let requests = 0;
    for (const operation of operations) {
      const key = `${operation.method} ${operation.path}`;
      const path = await pathFor(operation.path);
      const bodySchema = operation.requestBody?.content?.['application/json']?.schema;
      const queries = (operation.parameters ?? []).filter((p) => p.in === 'query');
      const input = fc.record({
        body: bodySchema
          ? fc.oneof(
              valueOf(bodySchema),
              fc.jsonValue(),
              fc.string({ maxLength: 200 }).map((s) => `{${s}`),
            )
          : fc.constant(undefined),
        query: fc.record(
          Object.fromEntries(
            queries.map((p) => [
              p.name,
              fc.oneof(fc.string({ maxLength: 50 }), fc.integer().map(String)),
            ]),
          ),
          { requiredKeys: [] },
        ),
      });
      await fc
        .assert(
          fc.asyncProperty(input, async ({ body, query }) => {
            requests += 1;
            const search = new URLSearchParams(query as Record<string, string>).toString();
            const raw =
              body === undefined
                ? undefined
                : typeof body === 'string' && body.startsWith('{')
                  ? body
                  : JSON.stringify(body);
            const answer = await call(operation.method, `${path}${search ? `?${search}` : ''}`, {
              token: callers.admin.token,
              body: raw,
            });
            const problem = problemOf(answer);
            if (problem)
              violations.push(`${key} with ${raw?.slice(0, 200)} ?${search}: ${problem}`);
            return problem === null;
          }),
          { numRuns: profile.propertyRuns, endOnFailure: true },
        )
        .catch(() => undefined);
    }
    recordCheck(
      `abuse: property-based bodies (${operations.length} operations)`,
      requests,
      violations.length,
    );
    expect(violations).toEqual([]);
  });

  it('a signed webhook replayed after the tolerance is refused and changes nothing', async () => {
    const event = await createEvent(app.url, callers.admin, [5]);
    const booked = await call('POST', `/api/v1/events/${event.id}/bookings`, {
      token: callers.another.token,
      body: JSON.stringify({ ticketTypeId: event.ticketTypes[0].id, quantity: 1 }),
    });
    const { order, checkoutUrl } = JSON.parse(booked.text) as {
      order: { id: string };
      checkoutUrl: string;
    };
    const link = await fetch(checkoutUrl, { redirect: 'manual' });
    expect(link.status).toBe(303);
    const session = [...fake.sessions.values()].find(
      (s) => s.url === link.headers.get('location'),
    )!;
    const completed = fake.completeSession(session.id);
    const tenMinutesAgo = Date.now() - 10 * 60_000;
    const payload = stripeEvent(
      'checkout.session.completed',
      { ...completed, line_items: undefined },
      tenMinutesAgo,
    );
    const replay = await fetch(`${app.url}/api/v1/payments/webhook`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': signWebhook(payload, Math.floor(tenMinutesAgo / 1000)),
      },
      body: payload,
    });
    const status = async () =>
      (await db.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [order.id]))
        .rows[0].status;
    const violations: string[] = [];
    if (replay.status !== 400) violations.push(`old signature answered ${replay.status}`);
    if ((await status()) !== 'pending') violations.push('the replayed event changed the order');
    // The same event with a fresh signature is applied: only its age was refused.
    const fresh = await fetch(`${app.url}/api/v1/payments/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signWebhook(payload) },
      body: payload,
    });
    expect(fresh.status).toBe(200);
    expect(await status()).toBe('confirmed');
    recordCheck('abuse: webhook replayed after tolerance', 2, violations.length);
    expect(violations).toEqual([]);
  });

  // Full profile only (it waits for the server's socket timeouts, 20 s and more).
  const slowClients = `abuse: ${profile.idleSockets} idle sockets + slowloris`;
  if (inFullProfile(slowClients)) {
    it(`${profile.idleSockets} idle sockets and a slowloris client during a storm`, async () => {
      const event = await createEvent(app.url, callers.admin, [2000, 2000]);
      const buyers = await createBuyers(db, profile.buyers);
      const idle = await openIdleSockets(app.port, profile.idleSockets);
      const slow = slowloris(app.port);
      const openedAt = Date.now();
      try {
        const result = await stormAround(slowClients, {
          urls: [app.url],
          db,
          event,
          buyers,
          redis: control,
          inject: () => Promise.resolve(),
        });
        expect(result.violations).toEqual([]);
        expect(result.line.created).toBeGreaterThan(0);
        // The server's timeouts end both: no client holds a socket for ever.
        await eventually(() => Promise.resolve(slow.closedAt() !== null), {
          timeoutMs: 40_000,
          intervalMs: 250,
          what: 'the server to close the slowloris connection',
        });
        await eventually(() => Promise.resolve(idle.every((socket) => socket.closed)), {
          timeoutMs: 40_000,
          intervalMs: 250,
          what: 'the server to close the idle sockets',
        });
        process.stdout.write(
          `chaos: slowloris closed after ${slow.closedAt()! - openedAt} ms, idle sockets closed too\n`,
        );
      } finally {
        slow.socket.destroy();
        for (const socket of idle) socket.destroy();
      }
    });
  }

  it('passwords, tokens and secrets never appear in the logs', () => {
    const log = app.output;
    expect(log.length).toBeGreaterThan(0);
    const leaked = secrets.filter((secret) => log.includes(secret));
    const tokenLike = log.match(/eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]*/g) ?? [];
    recordCheck(
      `abuse: log scan (${log.split('\n').length} lines)`,
      secrets.length,
      leaked.length + tokenLike.length,
    );
    expect(leaked.map((secret) => `${secret.slice(0, 6)}…`)).toEqual([]);
    expect(tokenLike).toEqual([]);
  });
});
