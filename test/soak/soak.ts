/**
 * `npm run soak [-- --minutes 10 --rate 40 --out soak-report.txt]`: mixed traffic at a
 * steady rate against the built server (its own redis-server, the Stripe fake, a database
 * of its own next to TEST_DATABASE_URL): browse, book, pay, cancel and let holds expire.
 * Prints one line per minute (requests, p50/p99, statuses, RSS, heap) and one page of
 * report at the end: memory at the start and the end, p99 per minute, invariant violations
 * (must be 0). Exit status 1 on any violation, 5xx or unanswered request.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { StripeFake } from '../fakes/stripe-server';
import { type CreatedBooking, findViolations } from '../support/invariants';
import { RedisServer } from '../support/redis-server';
import { AppProcess } from '../chaos/support/app-process';
import {
  EXPIRY_GRACE_SECONDS,
  lockStoreViolations,
  waitForHoldsToEnd,
} from '../chaos/support/recovery';
import { Payer, stripeFakeSettings } from '../chaos/support/payer';
import {
  type Buyer,
  type ChaosEvent,
  chaosDatabase,
  createBuyers,
  createEvent,
} from '../chaos/support/world';

const HOLD_SECONDS = 20;
const MAX_IN_FLIGHT = 200;

interface Sample {
  kind: string;
  status: number;
  ms: number;
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const minutes = option('minutes', 10);
  const rate = option('rate', 40);
  const outAt = process.argv.indexOf('--out');
  const out = outAt > 0 ? resolve(process.argv[outAt + 1]) : undefined;
  const memoryFile = join(tmpdir(), `soak-memory-${process.pid}.json`);
  process.env.DATABASE_URL ??=
    process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tickets_test';

  const redis = await RedisServer.start();
  const control = redis.client();
  await control.connect();
  const fake = await StripeFake.start();
  const { url: databaseUrl, db } = await chaosDatabase('soak');
  let app: AppProcess | undefined;
  try {
    app = await AppProcess.start(
      {
        DATABASE_URL: databaseUrl,
        REDIS_URL: redis.url,
        HOLD_SECONDS: String(HOLD_SECONDS),
        ...stripeFakeSettings(fake),
        SOAK_MEMORY_FILE: memoryFile,
      },
      ['--require', join(__dirname, 'memory-probe.js')],
    );
    const url = app.url;
    const [admin] = await createBuyers(db, 1, 'admin');
    const buyers = await createBuyers(db, 4000);
    const events: ChaosEvent[] = [];
    const newEvent = async () => events.push(await createEvent(url, admin, [3000, 500]));
    await newEvent();
    await newEvent();
    const payer = new Payer(fake, [url]);
    const created: CreatedBooking[] = [];
    const byMinute: Sample[][] = [];
    const memory = () =>
      JSON.parse(readFileSync(memoryFile, 'utf8')) as {
        rss: number;
        heapUsed: number;
        heapTotal: number;
      };
    await delay(1500);
    const startMemory = memory();
    const startedAt = Date.now();
    let inFlight = 0;
    let shed = 0;
    let nextBuyer = 0;

    const timed = async (kind: string, run: () => Promise<Response>): Promise<Response | null> => {
      const began = Date.now();
      const minute = Math.floor((began - startedAt) / 60_000);
      inFlight += 1;
      try {
        const answer = await run().catch(() => null);
        (byMinute[minute] ??= []).push({
          kind,
          status: answer?.status ?? 0,
          ms: Date.now() - began,
        });
        return answer;
      } finally {
        inFlight -= 1;
      }
    };

    const browse = async () => {
      const event = events[Math.floor(Math.random() * events.length)];
      const pick = Math.random();
      const path =
        pick < 0.4
          ? '/api/v1/events?page=1&pageSize=20'
          : pick < 0.8
            ? `/api/v1/events/${event.id}`
            : `/api/v1/events/${event.id}/tickets?status=available&pageSize=20`;
      await timed('browse', () => fetch(`${url}${path}`)).then((answer) => answer?.text());
    };

    const bookAndThen = async () => {
      const buyer: Buyer = buyers[nextBuyer++ % buyers.length];
      const event = events[events.length - 1 - (nextBuyer % 2)];
      const type = event.ticketTypes[nextBuyer % event.ticketTypes.length];
      const answer = await timed('book', () =>
        fetch(`${url}/api/v1/events/${event.id}/bookings`, {
          method: 'POST',
          headers: { authorization: `Bearer ${buyer.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ticketTypeId: type.id, quantity: 1 + (nextBuyer % 3) }),
        }),
      );
      if (answer?.status === 409) {
        const problem = (await answer.json()) as { type: string };
        // A sold-out event gives way to a new one (the on-sale moves on).
        if (/sold_out/.test(problem.type) && events.length < 50 && event === events.at(-1)) {
          await newEvent();
        }
        return;
      }
      if (answer?.status !== 201) return void (await answer?.text());
      const { order, checkoutUrl } = (await answer.json()) as {
        order: { id: string; tickets: { id: string }[] };
        checkoutUrl: string;
      };
      created.push({ orderId: order.id, ticketIds: order.tickets.map((ticket) => ticket.id) });
      const fate = Math.random();
      if (fate < 0.4) {
        payer.pay({ id: order.id, tickets: [], checkoutUrl });
      } else if (fate < 0.7) {
        await timed('cancel', () =>
          fetch(`${url}/api/v1/orders/${order.id}/cancel`, {
            method: 'POST',
            headers: { authorization: `Bearer ${buyer.token}` },
          }),
        ).then((cancelled) => cancelled?.text());
      } // else: the hold expires.
    };

    const lineOf = (minute: number, samples: Sample[]) => {
      const times = samples.map((s) => s.ms).sort((a, b) => a - b);
      const statuses = new Map<number, number>();
      for (const s of samples) statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
      const now = memory();
      return (
        `minute ${String(minute + 1).padStart(2)}: ${String(samples.length).padStart(5)} requests, ` +
        `p50 ${percentile(times, 0.5)} ms, p99 ${percentile(times, 0.99)} ms, ` +
        `${[...statuses]
          .sort(([a], [b]) => a - b)
          .map(([s, n]) => `${s}×${n}`)
          .join(' ')}, ` +
        `RSS ${mb(now.rss)}, heap ${mb(now.heapUsed)}`
      );
    };

    process.stdout.write(
      `Soak: ${minutes} min at ${rate} requests/s against ${url} (holds ${HOLD_SECONDS} s)\n`,
    );
    const pending: Promise<void>[] = [];
    const endAt = startedAt + minutes * 60_000;
    let tick = 0;
    let reported = 0;
    while (Date.now() < endAt) {
      // Steady: the n-th request leaves at startedAt + n / rate, whatever the answers do.
      const due = startedAt + (tick * 1000) / rate;
      if (due > Date.now()) await delay(due - Date.now());
      tick += 1;
      if (inFlight >= MAX_IN_FLIGHT) {
        shed += 1;
      } else {
        const action = Math.random() < 0.55 ? browse() : bookAndThen();
        pending.push(
          action.catch((error: unknown) => {
            process.stderr.write(`soak: ${String(error)}\n`);
          }),
        );
      }
      const minute = Math.floor((Date.now() - startedAt) / 60_000);
      if (minute > reported) {
        process.stdout.write(`${lineOf(reported, byMinute[reported] ?? [])}\n`);
        reported = minute;
      }
    }
    await Promise.all(pending);
    if (reported < minutes) process.stdout.write(`${lineOf(reported, byMinute[reported] ?? [])}\n`);
    const endMemory = memory();

    const violations = [
      ...(await payer.settle()),
      ...(await waitForHoldsToEnd(
        db,
        events.map((event) => event.id),
        (HOLD_SECONDS + 20) * 1000,
      )),
      ...(await findViolations(db, {
        eventIds: events.map((event) => event.id),
        created,
        paidOrderIds: payer.paidOrderIds,
        expiredHoldGraceSeconds: EXPIRY_GRACE_SECONDS,
      })),
      ...(
        await Promise.all(events.map((event) => lockStoreViolations(control, db, event.id, 30_000)))
      ).flat(),
    ];
    const all = byMinute.flat();
    const serverErrors = all.filter((s) => s.status >= 500 || s.status === 0).length;
    const { rows: orders } = await db.query<{ status: string; count: string }>(
      `SELECT status, count(*) FROM orders GROUP BY status ORDER BY status`,
    );
    const report = [
      `Soak report — ${new Date(startedAt).toISOString()}, ${minutes} min at ${rate} requests/s`,
      `requests: ${all.length} (${shed} shed at ${MAX_IN_FLIGHT} in flight); 5xx or no answer: ${serverErrors}`,
      `by kind: ${['browse', 'book', 'cancel']
        .map((kind) => `${kind} ${all.filter((s) => s.kind === kind).length}`)
        .join(', ')}; payments ${payer.paidOrderIds.length}; events ${events.length}`,
      `orders: ${orders.map((row) => `${row.status} ${row.count}`).join(', ')}`,
      `memory at start: RSS ${mb(startMemory.rss)}, heap ${mb(startMemory.heapUsed)} of ${mb(startMemory.heapTotal)}`,
      `memory at end:   RSS ${mb(endMemory.rss)}, heap ${mb(endMemory.heapUsed)} of ${mb(endMemory.heapTotal)}`,
      'p99 per minute (all requests / bookings):',
      ...byMinute.map((samples, minute) => {
        const p99 = (list: Sample[]) =>
          percentile(
            list.map((s) => s.ms).sort((a, b) => a - b),
            0.99,
          );
        return `  minute ${minute + 1}: ${p99(samples)} ms / ${p99(samples.filter((s) => s.kind === 'book'))} ms (${samples.length} requests)`;
      }),
      `invariant violations: ${violations.length}`,
      ...violations.slice(0, 10).map((violation) => `  ${violation}`),
    ].join('\n');
    process.stdout.write(`\n${report}\n`);
    if (out) writeFileSync(out, `${report}\n`);
    process.exitCode = violations.length > 0 || serverErrors > 0 ? 1 : 0;
  } finally {
    await app?.stop();
    await fake.close();
    control.disconnect();
    await redis.stop();
    await db.end();
  }
}

void main();
