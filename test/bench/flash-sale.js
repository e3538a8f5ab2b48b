// Flash-sale benchmark (`npm run bench`, not part of `npm test`).
//
// Starts the built server as its own process on real PostgreSQL and Redis, then:
//  1. a 20,000-ticket event sold to 100,000 booking attempts (quantity 1–4, 500 in flight at
//     once, each attempt by a distinct buyer with a pre-issued token): holds/s until sold
//     out and per 10 % of the sale, sold-out 409s/s, latency percentiles, errors, peak RSS;
//  2. invariant 1 checked in PostgreSQL;
//  3. event creation time and p50 booking latency on 1,000 vs 1,000,000-ticket events.
// Settings: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_ATTEMPTS, BENCH_CONCURRENCY,
// BENCH_WEB_CONCURRENCY (server processes, default 2: one per core),
// BENCH_CPU_PROF=1 (writes .cpuprofile files of the server into the working directory).
const { spawn } = require('node:child_process');
const { createHmac, generateKeyPairSync } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const argon2 = require('argon2');
const Redis = require('ioredis');
const { Client } = require('pg');
const { Pool } = require('undici');

const DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tickets_bench';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/7';
const PORT = Number(process.env.BENCH_PORT ?? 3999);
const BASE = `http://127.0.0.1:${PORT}`;
const JWT_SECRET = 'benchmark-secret-benchmark-secret-0123456789';
const TICKETS = 20_000;
const ATTEMPTS = Number(process.env.BENCH_ATTEMPTS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 500);
const WORKERS = process.env.BENCH_WEB_CONCURRENCY ?? '2';

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

async function freshDatabase() {
  const url = new URL(DATABASE_URL);
  const admin = new Client({
    connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString(),
  });
  await admin.connect();
  const name = url.pathname.slice(1);
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const db = new Client({ connectionString: DATABASE_URL });
  await db.connect();
  await db.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public');
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  redis.disconnect();
  return db;
}

function startServer() {
  const args = process.env.BENCH_CPU_PROF ? ['--cpu-prof'] : [];
  const server = spawn(process.execPath, [...args, 'dist/apps/api/src/main.js'], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(PORT),
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
      WEB_CONCURRENCY: WORKERS,
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

async function waitReady() {
  for (let i = 0; i < 300; i++) {
    try {
      const response = await fetch(`${BASE}/health/ready`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('server did not become ready in 30 s');
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
  const response = await fetch(`${BASE}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({
      name: `Flash sale ${quantity}`,
      venue: 'Stadium',
      startsAt: new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString(),
      maxTicketsPerOrder: 4,
      ticketTypes: [{ name: 'General Admission', price: 5000, quantity }],
    }),
  });
  const body = await response.json();
  if (response.status !== 201) throw new Error(`event creation failed: ${JSON.stringify(body)}`);
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

async function checkInvariants(db, eventId) {
  const violations = [];
  const { rows: counts } = await db.query(
    `SELECT tt.id, tt.quantity,
            (SELECT sum(available + locked + sold) FROM ticket_type_counters c WHERE c.ticket_type_id = tt.id) AS counted,
            (SELECT sum(locked) FROM ticket_type_counters c WHERE c.ticket_type_id = tt.id) AS locked,
            (SELECT count(*) FROM tickets t WHERE t.ticket_type_id = tt.id) AS rows,
            (SELECT count(*) FROM tickets t WHERE t.ticket_type_id = tt.id AND t.status = 'locked') AS locked_rows
     FROM ticket_types tt WHERE tt.event_id = $1`,
    [eventId],
  );
  for (const c of counts) {
    if (Number(c.counted) !== c.quantity || Number(c.rows) !== c.quantity) {
      violations.push(
        `type ${c.id}: quantity ${c.quantity}, counters ${c.counted}, rows ${c.rows}`,
      );
    }
    if (Number(c.locked) !== Number(c.locked_rows)) {
      violations.push(`type ${c.id}: counters say ${c.locked} locked, rows ${c.locked_rows}`);
    }
  }
  const { rows: doubles } = await db.query(
    `SELECT oi.ticket_id FROM order_items oi JOIN orders o ON o.id = oi.order_id
     WHERE o.event_id = $1 AND o.status IN ('pending', 'confirmed')
     GROUP BY oi.ticket_id HAVING count(*) > 1`,
    [eventId],
  );
  doubles.forEach((d) => violations.push(`ticket ${d.ticket_id} is in more than one live order`));
  const { rows: orphans } = await db.query(
    `SELECT t.id FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
     LEFT JOIN orders o ON o.id = t.order_id
     WHERE tt.event_id = $1 AND t.status = 'locked' AND (o.status IS DISTINCT FROM 'pending')`,
    [eventId],
  );
  orphans.forEach((o) => violations.push(`ticket ${o.id} is locked without a pending order`));
  const { rows: mismatched } = await db.query(
    `SELECT o.id FROM orders o
     WHERE o.event_id = $1 AND o.status = 'pending'
       AND o.quantity <> (SELECT count(*) FROM tickets t WHERE t.order_id = o.id AND t.status = 'locked')`,
    [eventId],
  );
  mismatched.forEach((o) => violations.push(`order ${o.id} does not hold exactly its quantity`));
  return violations;
}

async function main() {
  const db = await freshDatabase();
  const server = startServer();
  try {
    await waitReady();
    const [adminToken] = await createUsers(db, 1, 'admin');
    const buyers = await createUsers(db, ATTEMPTS, 'customer');

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

    console.log('rate per 10 % of the sale (tickets held):');
    const ordered = [...held].sort((a, b) => a.at - b.at);
    let cumulative = 0;
    let decile = 1;
    let decileStart = 0;
    let holdsInDecile = 0;
    for (const r of ordered) {
      cumulative += r.quantity;
      holdsInDecile += 1;
      while (decile <= 10 && cumulative >= (decile * ticketsHeld) / 10) {
        const span = (r.at - decileStart) / 1000;
        console.log(
          `  ${String(decile * 10).padStart(3)} %  ${(holdsInDecile / span).toFixed(0).padStart(6)} holds/s`,
        );
        decile += 1;
        decileStart = r.at;
        holdsInDecile = 0;
      }
    }
    console.log(`server peak RSS per process (MB): ${peakRssMb(server.pid).join(' + ')}`);

    const violations = await checkInvariants(db, event.id);
    console.log(
      violations.length === 0
        ? 'invariant 1: OK'
        : `invariant 1 VIOLATED:\n  ${violations.join('\n  ')}`,
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
        `  ${String(size).padStart(9)} tickets: created in ${created.seconds.toFixed(2)} s, first booking (loads Redis) ${warm.results[0].ms.toFixed(0)} ms, p50 ${p50.toFixed(2)} ms over ${ok.length} holds`,
      );
      if (size === 1_000_000) {
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
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await db.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
