// Flash-sale benchmark (`npm run bench`, not part of `npm test`).
//
// Starts the built server as its own process on real PostgreSQL and Redis, then:
//  1. after a warm-up sale of 5,000 tickets, a 50,000-ticket event sold to 100,000 booking
//     attempts (quantity 1–4, 500 in flight at once, each attempt by a distinct buyer with a
//     pre-issued token): holds/s until sold out and per 10 % of the sale, sold-out 409s/s,
//     latency percentiles, errors, peak RSS;
//  2. the booking invariants checked in PostgreSQL (test/support/invariants.js);
//  3. event creation time and p50 booking latency on 1,000 vs 1,000,000-ticket events.
//  4. autocannon at 100 connections against one server process, driven as the bare reference
//     server of ../shared/limits is (2 tickets a booking, a different buyer each request):
//     tickets/s until sold out, p99 of a 201, then 10 s of sold-out 409s (and the same 409s
//     against the two-process server); the load generator's own ceiling on a trivial route;
//     The autocannon sale runs twice on one process: as shipped (outbox relay, metrics, and
//     SOCKET_WATCHERS socket.io clients watching the sale, /metrics scraped every 5 s), then
//     with OUTBOX_RELAY_ENABLED=false, METRICS_ENABLED=false and no watcher;
//  5. ../shared/limits/run.sh (the bare server, same PostgreSQL and Redis) unless
//     BENCH_SKIP_LIMITS=1, and every figure as a ratio to it.
// Settings: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_TICKETS (default 50,000),
// BENCH_ATTEMPTS, BENCH_CONCURRENCY, BENCH_WEB_CONCURRENCY (server processes, default 2:
// one per core), BENCH_PORT,
// BENCH_AC_TICKETS (tickets of the autocannon sale, default 40,000), BENCH_LIMITS_TICKETS
// (TICKETS for run.sh, default 200,000), BENCH_SKIP_LIMITS=1,
// BENCH_CPU_PROF=1 (writes .cpuprofile files of the server into the working directory).
const { spawn, spawnSync } = require('node:child_process');
const { createHmac, generateKeyPairSync } = require('node:crypto');
const { existsSync } = require('node:fs');
const path = require('node:path');
const autocannon = require('autocannon');
const { readFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const argon2 = require('argon2');
const Redis = require('ioredis');
const { Client } = require('pg');
const { io } = require('socket.io-client');
const { Pool } = require('undici');
const { freshDatabase } = require('../support/fresh-database');
const { findViolations } = require('../support/invariants');

const DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tickets_bench';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/7';
const PORT = Number(process.env.BENCH_PORT ?? 3999);
const BASE = `http://127.0.0.1:${PORT}`;
const JWT_SECRET = 'benchmark-secret-benchmark-secret-0123456789';
// Big enough that a tenth of the sale lasts over a second: a tenth of 20,000 tickets took
// half a second, within the noise of 64-hold batches completing together.
const TICKETS = Number(process.env.BENCH_TICKETS ?? 50_000);
const WARM_UP_TICKETS = 5_000;
const ATTEMPTS = Number(process.env.BENCH_ATTEMPTS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 500);
const WORKERS = process.env.BENCH_WEB_CONCURRENCY ?? '2';
const AC_TICKETS = Number(process.env.BENCH_AC_TICKETS ?? 40_000);
const LIMITS_TICKETS = process.env.BENCH_LIMITS_TICKETS ?? '200000';
const SOCKET_WATCHERS = 50;
const LIMITS_SCRIPT = path.resolve(__dirname, '../../../shared/limits/run.sh');

function base64url(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString(
    'base64url',
  );
}

/** HS256 access tokens as the server issues them, signed here so 100,000 buyers cost nothing. */
function token(userId, role) {
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url({ sub: userId, role, iat: now, exp: now + 7200 })}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

/** An empty database and Redis db for the run; returns a client on the database. */
async function emptyStores() {
  await freshDatabase(new URL(DATABASE_URL));
  const db = new Client({ connectionString: DATABASE_URL });
  await db.connect();
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  redis.disconnect();
  return db;
}

/** Everything that carries changes out switched off (issue "Events out"'s cost). */
const EVENTS_OUT_OFF = { OUTBOX_RELAY_ENABLED: 'false', METRICS_ENABLED: 'false' };

function startServer(port = PORT, workers = WORKERS, settings = {}) {
  const args = process.env.BENCH_CPU_PROF ? ['--cpu-prof'] : [];
  const server = spawn(process.execPath, [...args, 'dist/apps/api/src/main.js'], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL,
      REDIS_URL,
      JWT_SECRET,
      HOLD_SECONDS: '3600',
      AUTH_RATE_LIMIT: '0',
      // Production refuses to start without Stripe; the bench books only, never pays.
      STRIPE_SECRET_KEY: 'sk_test_bench_never_called',
      STRIPE_WEBHOOK_SECRET: 'whsec_bench_never_called',
      STRIPE_API_URL: 'http://127.0.0.1:9',
      TICKET_SIGNING_KEY: generateKeyPairSync('ed25519')
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
      LOG_LEVEL: 'warn',
      WEB_CONCURRENCY: String(workers),
      ...settings,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  server.on('exit', (code) => {
    if (code !== 0 && code !== null) {
      console.error(`server exited with ${code}`);
      process.exit(1);
    }
  });
  return server;
}

async function waitReady(base = BASE) {
  for (let i = 0; i < 900; i++) {
    try {
      const response = await fetch(`${base}/health/ready`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('server did not become ready in 90 s');
}

async function createUsers(db, count, role) {
  const hash = await argon2.hash('correct horse battery');
  const { rows } = await db.query(
    `INSERT INTO users (email, name, password_hash, role)
     SELECT $3 || n || '@bench.example', 'Buyer ' || n, $1, $2
     FROM generate_series(1, $4::int) AS n RETURNING id`,
    [hash, role, `${role}-${Date.now()}-`, count],
  );
  return rows.map((row) => token(row.id, role));
}

async function createEvent(adminToken, quantity) {
  const started = performance.now();
  // A connection of its own: a pooled one may have idled past the server's keep-alive
  // timeout (creating 100,000 buyers takes longer) and be closed under the request.
  const client = new Pool(BASE, { connections: 1, pipelining: 0 });
  const response = await client.request({
    path: '/api/v1/events',
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({
      name: `Flash sale ${quantity}`,
      venue: 'Stadium',
      startsAt: new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString(),
      maxTicketsPerOrder: 4,
      ticketTypes: [{ name: 'General Admission', price: 5000, quantity }],
    }),
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
  });
  const body = await response.body.json();
  await client.close();
  if (response.statusCode !== 201)
    throw new Error(`event creation failed: ${JSON.stringify(body)}`);
  return { event: body, seconds: (performance.now() - started) / 1000 };
}

/** Runs `attempts` bookings, `concurrency` in flight, buyer i booking `quantityOf(i)`. */
async function run(eventId, ticketTypeId, tokens, attempts, concurrency, quantityOf) {
  const pool = new Pool(BASE, {
    connections: concurrency,
    pipelining: 1,
    keepAliveTimeout: 60_000,
  });
  // Open every connection before the clock starts, as a load balancer's pool would be:
  // 500 simultaneous connects overflow the accept backlog and some SYNs wait out a
  // retransmission, which would measure TCP, not booking.
  await Promise.all(
    Array.from({ length: concurrency }, () =>
      pool
        .request({ path: '/health/live', method: 'GET' })
        .then((response) => response.body.dump()),
    ),
  );
  const results = [];
  let next = 0;
  const started = performance.now();
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= attempts) return;
      const quantity = quantityOf(i);
      const sent = performance.now();
      let status;
      try {
        const response = await pool.request({
          path: `/api/v1/events/${eventId}/bookings`,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i]}` },
          body: JSON.stringify({ ticketTypeId, quantity }),
        });
        status = response.statusCode;
        await response.body.dump();
      } catch {
        status = 0;
      }
      const done = performance.now();
      results.push({ status, quantity, ms: done - sent, at: done - started });
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  return { results, seconds: (performance.now() - started) / 1000 };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function latencyLine(label, results) {
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const f = (v) => v.toFixed(1).padStart(7);
  return `${label.padEnd(6)} n=${String(ms.length).padStart(6)}  p50 ${f(percentile(ms, 50))} ms  p95 ${f(percentile(ms, 95))} ms  p99 ${f(percentile(ms, 99))} ms`;
}

/** Peak RSS of each server process (the supervisor, then its workers), in MB. */
function peakRssMb(pid) {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  return [pid, ...children.filter(Boolean)].map((p) => {
    const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))[1]);
    return (kb / 1024).toFixed(0);
  });
}

/**
 * autocannon, 100 connections: per-status latencies and the time of each answer. With
 * tokens, each connection gets its own slice of buyers, its requests built once before the
 * clock starts, as ../shared/limits drives the bare server with one pre-built request:
 * building each request as it is sent takes CPU from the load generator, which shares the
 * machine's two cores with the server.
 */
async function cannon(base, { path: route, method = 'GET', body, tokens, seconds, amount }) {
  const connections = 100;
  const request = (token) => ({
    method,
    path: route,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const perConnection = tokens ? Math.floor(tokens.length / connections) : 0;
  let connected = 0;
  const answers = [];
  const started = performance.now();
  const instance = autocannon({
    url: base,
    connections,
    ...(amount ? { amount } : { duration: seconds }),
    requests: [request(tokens?.[0])],
    setupClient: (client) => {
      if (!tokens) return;
      const first = connected++ * perConnection;
      client.setRequests(tokens.slice(first, first + perConnection).map(request));
    },
  });
  instance.on('response', (_client, status, _bytes, ms) =>
    answers.push({ status, ms, at: performance.now() - started }),
  );
  await instance;
  return { answers, seconds: (performance.now() - started) / 1000 };
}

function rate(count, seconds) {
  return seconds > 0 ? count / seconds : NaN;
}

/** Holds by autocannon until sold out, then sold-out traffic (the bare server's protocol). */
async function cannonSale(base, adminToken, tokens, { watched }) {
  const { event } = await createEvent(adminToken, AC_TICKETS);
  const typeId = event.ticketTypes[0].id;
  const watching = watched ? await watch(base, event.id) : null;
  const sale = await cannon(base, {
    path: `/api/v1/events/${event.id}/bookings`,
    method: 'POST',
    body: { ticketTypeId: typeId, quantity: 2 },
    tokens,
    amount: AC_TICKETS / 2 + 2000,
  });
  const held = sale.answers.filter((a) => a.status === 201);
  const soldOutAt = Math.max(...held.map((a) => a.at));
  const ms201 = held.map((a) => a.ms).sort((a, b) => a - b);
  const errors = sale.answers.filter((a) => a.status !== 201 && a.status !== 409).length;
  const watchers = await watching?.stop();
  return {
    watchers,
    eventId: event.id,
    typeId,
    ticketsPerS: rate(held.length * 2, soldOutAt / 1000),
    p99: percentile(ms201, 99),
    held: held.length,
    errors,
  };
}

/**
 * SOCKET_WATCHERS socket.io clients subscribed to the event, and a Prometheus-like scrape
 * of /metrics every 5 s, for the duration of a sale. `stop()` returns what they received.
 */
async function watch(base, eventId) {
  const sockets = Array.from({ length: SOCKET_WATCHERS }, () =>
    io(`${base}/availability`, { transports: ['websocket'], reconnection: false }),
  );
  let updates = 0;
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise((resolve, reject) => {
          socket.on('availability', () => (updates += 1));
          socket.once('connect', () => {
            socket.emit('subscribe', { eventId });
            resolve();
          });
          socket.once('connect_error', reject);
        }),
    ),
  );
  let scrapes = 0;
  const scrape = () =>
    fetch(`${base}/metrics`)
      .then((response) => response.text())
      .then(() => (scrapes += 1));
  const scraper = setInterval(() => void scrape(), 5000);
  return {
    async stop() {
      clearInterval(scraper);
      await scrape();
      sockets.forEach((socket) => socket.disconnect());
      return { updates: updates / SOCKET_WATCHERS, scrapes };
    },
  };
}

async function cannonSoldOut(base, eventId, typeId, tokens) {
  const run = await cannon(base, {
    path: `/api/v1/events/${eventId}/bookings`,
    method: 'POST',
    body: { ticketTypeId: typeId, quantity: 2 },
    tokens,
    seconds: 10,
  });
  const rejected = run.answers.filter((a) => a.status === 409);
  return {
    perS: rate(rejected.length, run.seconds),
    p99: percentile(
      rejected.map((a) => a.ms).sort((a, b) => a - b),
      99,
    ),
    other: run.answers.length - rejected.length,
  };
}

/** ../shared/limits/run.sh on the same PostgreSQL and Redis: {none, redis} results. */
function runLimits() {
  if (process.env.BENCH_SKIP_LIMITS === '1' || !existsSync(LIMITS_SCRIPT)) return null;
  console.log(`\nrunning ${LIMITS_SCRIPT} (TICKETS=${LIMITS_TICKETS}) ...`);
  const result = spawnSync(LIMITS_SCRIPT, [], {
    env: { ...process.env, TICKETS: LIMITS_TICKETS },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const limits = {};
  for (const line of result.stdout.split('\n')) {
    const match = /^LIMIT gate=(\w+) (\{.*\})$/.exec(line);
    if (match) {
      console.log(line);
      limits[match[1]] = JSON.parse(match[2]);
    }
  }
  if (!limits.none || !limits.redis) {
    console.log(`run.sh gave no result (exit ${result.status}): ${result.stderr.slice(-500)}`);
    return null;
  }
  return limits;
}

/** A bare INSERT … SELECT generate_series of 1,000,000 rows of the tickets table's columns. */
async function bareInsertSeconds(db) {
  await db.query(`DROP TABLE IF EXISTS bench_bare_tickets;
    CREATE TABLE bench_bare_tickets (
      id uuid PRIMARY KEY, ticket_type_id uuid NOT NULL, serial integer NOT NULL,
      status text NOT NULL DEFAULT 'available', order_id uuid, held_until timestamptz)`);
  const started = performance.now();
  await db.query(`INSERT INTO bench_bare_tickets (id, ticket_type_id, serial)
    SELECT gen_random_uuid(), '00000000-0000-4000-8000-000000000000', s
    FROM generate_series(1, 1000000) AS s`);
  const seconds = (performance.now() - started) / 1000;
  await db.query('DROP TABLE bench_bare_tickets');
  return seconds;
}

/** The booking invariants (test/support/invariants.js) of one event: one line per violation. */
async function checkInvariants(db, eventId) {
  // Statistics from before the sale would plan the checks as if its tickets were all free.
  await db.query('ANALYZE tickets, orders');
  return findViolations(db, { eventIds: [eventId] });
}

async function main() {
  const figures = {};
  const db = await emptyStores();
  let server = startServer();
  try {
    await waitReady();
    const [adminToken] = await createUsers(db, 1, 'admin');
    const buyers = await createUsers(db, ATTEMPTS, 'customer');

    // Warm-up, as run.sh warms the bare server: fresh processes run their first thousands of
    // requests cold (bytecode, not yet optimised; a heap still growing), which is start-up,
    // not a sale. The same buyers may book again: one pending order is per event.
    const warmUp = await createEvent(adminToken, WARM_UP_TICKETS);
    await run(
      warmUp.event.id,
      warmUp.event.ticketTypes[0].id,
      buyers,
      WARM_UP_TICKETS,
      CONCURRENCY,
      (i) => 1 + (i % 4),
    );
    const { event, seconds: createSeconds } = await createEvent(adminToken, TICKETS);
    const typeId = event.ticketTypes[0].id;
    console.log(
      `\nFlash sale: ${TICKETS} tickets, ${ATTEMPTS} attempts (quantity 1–4), ${CONCURRENCY} in flight`,
    );
    console.log(`event created in ${createSeconds.toFixed(2)} s`);

    const { results, seconds } = await run(
      event.id,
      typeId,
      buyers,
      ATTEMPTS,
      CONCURRENCY,
      (i) => 1 + (i % 4),
    );
    const held = results.filter((r) => r.status === 201);
    const rejected = results.filter((r) => r.status === 409);
    const errors = results.filter((r) => r.status !== 201 && r.status !== 409);
    const soldOutAt = Math.max(...held.map((r) => r.at));
    const afterSoldOut = rejected.filter((r) => r.at > soldOutAt);
    const ticketsHeld = held.reduce((sum, r) => sum + r.quantity, 0);

    console.log(
      `total ${seconds.toFixed(2)} s, ${(results.length / seconds).toFixed(0)} requests/s`,
    );
    console.log(
      `holds: ${held.length} orders, ${ticketsHeld} tickets, in ${(soldOutAt / 1000).toFixed(2)} s → ${(held.length / (soldOutAt / 1000)).toFixed(0)} holds/s until sold out`,
    );
    console.log(
      `after sold out: ${afterSoldOut.length} × 409 in ${((seconds * 1000 - soldOutAt) / 1000).toFixed(2)} s → ${(afterSoldOut.length / (seconds - soldOutAt / 1000)).toFixed(0)} 409s/s`,
    );
    console.log(latencyLine('201', held));
    console.log(latencyLine('409', rejected));
    console.log(
      `errors (not 201/409): ${errors.length}${errors.length ? ` ${JSON.stringify(errors.slice(0, 5))}` : ''}`,
    );

    const decileRates = [];
    // From the first ticket held to the last: before the first answer, the 500 requests sent
    // at once are in flight, which is their latency (p50, p99 above), not the sale's rate.
    const ordered = [...held].sort((a, b) => a.at - b.at);
    console.log(
      `rate per 10 % of the sale (tickets held), from the first hold at ${ordered[0].at.toFixed(0)} ms:`,
    );
    let cumulative = 0;
    let decile = 1;
    let decileStart = ordered[0].at;
    let holdsInDecile = 0;
    for (const r of ordered) {
      cumulative += r.quantity;
      holdsInDecile += 1;
      while (decile <= 10 && cumulative >= (decile * ticketsHeld) / 10) {
        const span = (r.at - decileStart) / 1000;
        decileRates.push(holdsInDecile / span);
        console.log(
          `  ${String(decile * 10).padStart(3)} %  ${(holdsInDecile / span).toFixed(0).padStart(6)} holds/s`,
        );
        decile += 1;
        decileStart = r.at;
        holdsInDecile = 0;
      }
    }
    console.log(`server peak RSS per process (MB): ${peakRssMb(server.pid).join(' + ')}`);

    const ms201 = held.map((r) => r.ms);
    const sortedDeciles = [...decileRates].sort((a, b) => a - b);
    Object.assign(figures, {
      holdsPerS: held.length / (soldOutAt / 1000),
      ticketsPerS: ticketsHeld / (soldOutAt / 1000),
      soldOutPerS: afterSoldOut.length / (seconds - soldOutAt / 1000),
      p99of201: percentile(
        [...ms201].sort((a, b) => a - b),
        99,
      ),
      meanOf201: ms201.reduce((sum, ms) => sum + ms, 0) / ms201.length,
      slowestDecileToMedian:
        sortedDeciles[0] / ((sortedDeciles[4] + sortedDeciles[5]) / 2 || sortedDeciles[0]),
      errors: errors.length,
    });
    const violations = await checkInvariants(db, event.id);
    console.log(
      violations.length === 0
        ? 'invariants: OK'
        : `invariants VIOLATED:\n  ${violations.join('\n  ')}`,
    );

    console.log('\nCost vs event size (one ticket type, quantity-1 bookings, 20 in flight):');
    let offset = ATTEMPTS / 2;
    for (const size of [1_000, 1_000_000]) {
      const created = await createEvent(adminToken, size);
      const sizeTypeId = created.event.ticketTypes[0].id;
      // First booking loads the type's free ids into Redis; time it apart from the rest.
      const warm = await run(created.event.id, sizeTypeId, buyers.slice(offset), 1, 1, () => 1);
      offset += 1;
      const measured = await run(
        created.event.id,
        sizeTypeId,
        buyers.slice(offset, offset + 800),
        800,
        20,
        () => 1,
      );
      offset += 800;
      const ok = measured.results.filter((r) => r.status === 201);
      const p50 = percentile(
        ok.map((r) => r.ms).sort((a, b) => a - b),
        50,
      );
      console.log(
        `  ${String(size).padStart(9)} tickets: created in ${created.seconds.toFixed(2)} s, first booking ${warm.results[0].ms.toFixed(0)} ms, p50 ${p50.toFixed(2)} ms over ${ok.length} holds`,
      );
      if (size === 1_000_000) {
        figures.create1M = created.seconds;
        figures.firstBooking1M = warm.results[0].ms;
        // The hold's lookup (libs/orders/src/booking.service.ts, `claimed`): by primary key.
        const { rows: plan } = await db.query(
          `EXPLAIN (COSTS OFF)
           SELECT t.id FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
           WHERE t.id = ANY($1::uuid[]) AND tt.event_id = $2 FOR UPDATE OF t`,
          [['00000000-0000-7000-8000-000000000000'], created.event.id],
        );
        console.log(
          `  plan of the hold's ticket lookup on the 1M-ticket event:\n    ${plan.map((p) => p['QUERY PLAN']).join('\n    ')}`,
        );
      }
    }
    figures.bareInsert1M = await bareInsertSeconds(db);
    console.log(
      `bare INSERT … generate_series of 1,000,000 rows: ${figures.bareInsert1M.toFixed(2)} s`,
    );

    console.log('\nautocannon, 100 connections:');
    const ceiling = await cannon(BASE, { path: '/health/live', seconds: 5 });
    figures.ceiling = rate(ceiling.answers.length, ceiling.seconds);
    console.log(
      `  load generator ceiling (GET /health/live, ${WORKERS} processes): ${figures.ceiling.toFixed(0)} requests/s`,
    );
    const soldOutTwo = await cannonSoldOut(BASE, event.id, typeId, buyers);
    figures.soldOutTwo = soldOutTwo.perS;
    console.log(
      `  sold-out 409s, ${WORKERS} processes: ${soldOutTwo.perS.toFixed(0)}/s (p99 ${soldOutTwo.p99.toFixed(1)} ms, other answers ${soldOutTwo.other})`,
    );
    for (const [key, settings] of [
      ['shipped', {}],
      ['eventsOutOff', EVENTS_OUT_OFF],
    ]) {
      await stop(server);
      server = startServer(PORT, 1, settings);
      await waitReady();
      const shipped = key === 'shipped';
      console.log(
        shipped
          ? `  1 process as shipped: outbox relay, metrics, ${SOCKET_WATCHERS} socket watchers, /metrics scraped every 5 s`
          : '  1 process with OUTBOX_RELAY_ENABLED=false METRICS_ENABLED=false, no watchers:',
      );
      // Twice the buyers the sale needs: a connection that runs ahead of the others must not
      // come back to its first buyers (who hold tickets) before the event is sold out.
      const saleBuyers = await createUsers(db, AC_TICKETS + 4000, 'customer');
      const sale = await cannonSale(BASE, adminToken, saleBuyers, { watched: shipped });
      console.log(
        `    holds, quantity 2: ${sale.ticketsPerS.toFixed(0)} tickets/s until sold out (${sale.held} holds), p99 of a 201 ${sale.p99.toFixed(1)} ms, errors ${sale.errors}`,
      );
      if (sale.watchers)
        console.log(
          `    each watcher got ${sale.watchers.updates.toFixed(0)} updates; ${sale.watchers.scrapes} scrapes`,
        );
      const saleViolations = await checkInvariants(db, sale.eventId);
      console.log(
        saleViolations.length === 0
          ? '    invariants: OK'
          : `    invariants VIOLATED: ${saleViolations.join('; ')}`,
      );
      const soldOut = await cannonSoldOut(BASE, sale.eventId, sale.typeId, saleBuyers);
      console.log(
        `    sold-out 409s: ${soldOut.perS.toFixed(0)}/s (p99 ${soldOut.p99.toFixed(1)} ms, other answers ${soldOut.other})`,
      );
      figures[key] = { ticketsPerS: sale.ticketsPerS, p99: sale.p99, soldOutPerS: soldOut.perS };
    }
  } finally {
    await stop(server);
    await db.end();
  }
  printRatios(figures, runLimits());
}

async function stop(server) {
  if (server.exitCode !== null || server.signalCode !== null) return;
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
}

function printRatios(f, limits) {
  const row = (what, ours, bare, target) =>
    console.log(
      `${what.padEnd(52)} ${ours.padStart(12)} ${bare.padStart(12)} ${(target ?? '').padStart(10)}`,
    );
  const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}×` : 'n/a');
  console.log('\n=== figures beside the bare server (../shared/limits/run.sh) ===');
  row('figure', 'project', 'bare', 'target');
  const none = limits?.none;
  const redis = limits?.redis;
  const shipped = f.shipped;
  const off = f.eventsOutOff;
  row(
    'holds, tickets/s, autocannon 100 conn, 1 process',
    shipped.ticketsPerS.toFixed(0),
    none ? none.tickets_per_s.toFixed(0) : '-',
    '',
  );
  row('  ratio', ratio(shipped.ticketsPerS, none?.tickets_per_s), '', '≥ 1.0×');
  row('holds, tickets/s, own driver 500 in flight, 2 proc', f.ticketsPerS.toFixed(0), '', '');
  row('  ratio', ratio(f.ticketsPerS, none?.tickets_per_s), '', '≥ 1.0×');
  row(
    'p99 of a 201 at 100 connections (ms)',
    shipped.p99.toFixed(1),
    none ? String(none.p99_201_ms ?? none.p99_ms ?? '-') : '-',
    '< 250',
  );
  row('p99 / mean of a 201 at 500 in flight', (f.p99of201 / f.meanOf201).toFixed(2), '', '≤ 3');
  row('slowest decile / median decile', f.slowestDecileToMedian.toFixed(2), '', '≥ 0.7');
  row(
    'sold-out 409s/s, autocannon, 1 process',
    shipped.soldOutPerS.toFixed(0),
    redis ? redis.soldout_rej_per_s.toFixed(0) : '-',
    '',
  );
  row(
    '  ratio (gated bare server, 1 process)',
    ratio(shipped.soldOutPerS, redis?.soldout_rej_per_s),
    '',
    '≥ 0.6×',
  );
  row(`sold-out 409s/s, autocannon, ${WORKERS} processes`, f.soldOutTwo.toFixed(0), '', '');
  row('  ratio', ratio(f.soldOutTwo, redis?.soldout_rej_per_s), '', '');
  row('sold-out 409s/s, own driver, 2 processes', f.soldOutPerS.toFixed(0), '', '');
  row('load generator ceiling, GET /health/live', f.ceiling.toFixed(0), '', '');
  row('first booking of a 1,000,000-ticket event (ms)', f.firstBooking1M.toFixed(0), '', '< 100');
  row(
    'create 1,000,000 tickets (s) / bare INSERT (s)',
    `${f.create1M.toFixed(2)}`,
    f.bareInsert1M.toFixed(2),
    '',
  );
  row('  ratio', ratio(f.create1M, f.bareInsert1M), '', '≤ 2×');
  row('errors (not 201/409)', String(f.errors), '', '0');
  console.log('\n=== as shipped vs relay, metrics and sockets off (autocannon, 1 process) ===');
  row('figure', 'shipped', 'off', 'shipped/off');
  row(
    'holds, tickets/s',
    shipped.ticketsPerS.toFixed(0),
    off.ticketsPerS.toFixed(0),
    ratio(shipped.ticketsPerS, off.ticketsPerS),
  );
  row('p99 of a 201 (ms)', shipped.p99.toFixed(1), off.p99.toFixed(1), '');
  row(
    'sold-out 409s/s',
    shipped.soldOutPerS.toFixed(0),
    off.soldOutPerS.toFixed(0),
    ratio(shipped.soldOutPerS, off.soldOutPerS),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
