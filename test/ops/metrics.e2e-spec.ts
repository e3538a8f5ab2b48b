import { book, createBuyers, createEvent } from '../support/booking';
import { eventually } from '../support/eventually';
import { RedisServer } from '../support/redis-server';
import { createUser, expectProblem, startTestApp, type TestApp } from '../support/test-app';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `${NAME}="(?:[^"\\\\\\n]|\\\\.)*"`;
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (\\S+)(?: -?\\d+)?$`,
);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * The Prometheus text format (0.0.4), checked line by line: `# HELP name text`,
 * `# TYPE name kind` once per family before its samples, empty lines, and samples
 * `name{label="value",…} number`. Returns the samples.
 */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Map<string, string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n').slice(0, -1)) {
    if (line.startsWith('# HELP ')) {
      expect(line).toMatch(new RegExp(`^# HELP ${NAME} .*$`));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      expect(TYPES.has(type)).toBe(true);
      expect(typed.has(name)).toBe(false);
      typed.set(name, type);
      continue;
    }
    if (line === '') continue; // empty lines are allowed (between families)
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`Not a Prometheus sample line: ${line}`);
    const [, name, labelText, value] = match;
    // prom-client writes NaN as `Nan` (an event-loop lag summary before its first sample);
    // Prometheus reads these special values case-insensitively.
    expect(Number.isNaN(Number(value)) && !/^(NaN|[+-]Inf)$/i.test(value)).toBe(false);
    const family = name.replace(/_(bucket|sum|count)$/, '');
    expect(typed.has(name) || typed.has(family)).toBe(true);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (labelText ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key] = raw;
    samples.push({ name, labels, value: Number(value) });
  }
  return samples;
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter(
      (sample) =>
        sample.name === name &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

describe('GET /metrics', () => {
  let redisServer: RedisServer;
  let testApp: TestApp;

  beforeAll(async () => {
    // Its own Redis: the sale counters come from a consumer group no other suite joins.
    redisServer = await RedisServer.start();
    testApp = await startTestApp({ REDIS_URL: redisServer.url, AUTH_RATE_LIMIT: '0' });
  });
  afterAll(async () => {
    await testApp?.close();
    await redisServer?.stop();
  });

  const scrape = async () => {
    const response = await testApp.http().get('/metrics').expect(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parsePrometheus(response.text);
  };

  it('is Prometheus text with process, HTTP, outbox and socket metrics, public without METRICS_TOKEN', async () => {
    await testApp.http().get('/health/live').expect(200);
    const samples = await scrape();
    const names = new Set(samples.map((sample) => sample.name));
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'http_request_duration_seconds_bucket',
      'http_request_duration_seconds_count',
      'ticketing_holds_total',
      'ticketing_sold_out_answers_total',
      'ticketing_tickets_sold_total',
      'ticketing_outbox_backlog',
      'ticketing_outbox_lag_seconds',
      'ticketing_socket_clients',
    ])
      expect(names).toContain(name);
    expect(
      valueOf(samples, 'http_request_duration_seconds_count', {
        method: 'GET',
        route: '/health/live',
        status_class: '2xx',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(await testApp.http().get('/api/v1/metrics')).toMatchObject({ status: 404 });
  });

  it('counts webhook events by type and outcome (a forged one as rejected)', async () => {
    const rejected = { type: 'unverified', outcome: 'rejected' };
    const before = valueOf(await scrape(), 'ticketing_webhook_events_total', rejected);
    expectProblem(
      await testApp
        .http()
        .post('/api/v1/payments/webhook')
        .set('Content-Type', 'application/json')
        .set('Stripe-Signature', 't=1,v1=forged')
        .send('{"id":"evt_forged","type":"checkout.session.completed"}'),
      400,
    );
    expect(valueOf(await scrape(), 'ticketing_webhook_events_total', rejected) - before).toBe(1);
  });

  it('moves with a booking: a hold, an HTTP 201 on the route template, then a sold-out answer', async () => {
    const admin = await createUser(testApp, { admin: true });
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 2 }],
    });
    const route = '/api/v1/events/:id/bookings';
    const before = await scrape();
    const [first, second] = await createBuyers(testApp, 2);
    await book(testApp, first, event.id, {
      ticketTypeId: event.ticketTypes[0].id,
      quantity: 2,
    }).expect(201);
    expectProblem(
      await book(testApp, second, event.id, { ticketTypeId: event.ticketTypes[0].id, quantity: 1 }),
      409,
    );

    const after = await eventually(
      async () => {
        const samples = await scrape();
        return (
          valueOf(samples, 'ticketing_holds_total') > valueOf(before, 'ticketing_holds_total') &&
          samples
        );
      },
      { what: 'the hold counted' },
    );
    expect(valueOf(after, 'ticketing_holds_total') - valueOf(before, 'ticketing_holds_total')).toBe(
      1,
    );
    expect(
      valueOf(after, 'ticketing_sold_out_answers_total') -
        valueOf(before, 'ticketing_sold_out_answers_total'),
    ).toBe(1);
    const count = (samples: Sample[], statusClass: string) =>
      valueOf(samples, 'http_request_duration_seconds_count', {
        method: 'POST',
        route,
        status_class: statusClass,
      });
    expect(count(after, '2xx') - count(before, '2xx')).toBe(1);
    expect(count(after, '4xx') - count(before, '4xx')).toBe(1);
    // Labels are templates, never ids.
    expect(after.some((sample) => sample.labels.route?.includes(event.id))).toBe(false);
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  let testApp: TestApp;
  const token = 'metrics-token-0123456789abcdef';

  beforeAll(async () => {
    testApp = await startTestApp({ METRICS_TOKEN: token });
  });
  afterAll(() => testApp.close());

  it('needs that bearer token', async () => {
    expectProblem(await testApp.http().get('/metrics'), 401);
    expectProblem(
      await testApp.http().get('/metrics').set('Authorization', 'Bearer wrong-token'),
      401,
    );
    const response = await testApp
      .http()
      .get('/metrics')
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(parsePrometheus(response.text).length).toBeGreaterThan(10);
  });
});

describe('METRICS_ENABLED=false', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp({ METRICS_ENABLED: 'false' });
  });
  afterAll(async () => {
    await testApp?.close();
  });

  it('serves no /metrics, and the API works as before', async () => {
    expectProblem(await testApp.http().get('/metrics'), 404);
    await testApp.http().get('/health/live').expect(200);
  });
});
