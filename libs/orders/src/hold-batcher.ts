import { Injectable } from '@nestjs/common';
import type { Pool, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { Outbox, sql } from '@app/outbox';
import { TICKET_LABEL_SQL } from '@app/tickets';
import type { Order } from './order.entity';
import { availabilityChange } from './order-outbox-rows';

export interface HoldRequest {
  orderId: string;
  expiresAt: Date;
  ticketIds: string[];
  eventId: string;
  userId: string;
  idempotencyKey: string | null;
  requestHash: string | null;
}

export interface HoldResult {
  /** JSON of the new order, dates as strings; null when nothing was held. */
  order:
    | (Omit<Order, 'expiresAt' | 'createdAt' | 'updatedAt'> &
        Record<'expiresAt' | 'createdAt' | 'updatedAt', string>)
    | null;
  /** The claimed tickets PostgreSQL had available. */
  free: { id: string; ticketTypeId: string; label: string }[];
  eventBookable: boolean;
  /** The buyer already holds a pending order for the event. */
  alreadyHolding: boolean;
}

/**
 * The hold's statement, built once, for a batch of holds (one or many): the holds
 * come as parallel arrays (`unnest`), their ticket ids as one array with each id's hold
 * number. Each hold goes ahead on its own: only if every id it claimed is still available,
 * its event is on sale and its buyer holds no pending order for the event.
 */
const HOLD_SQL = `WITH holds AS (
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[],
                          $6::text[], $7::int[])
       WITH ORDINALITY AS h(order_id, user_id, event_id, expires_at, idempotency_key,
                            request_hash, quantity, n)
   ), wanted AS (
     SELECT * FROM unnest($8::uuid[], $9::int[]) AS w(ticket_id, n)
   ), claimed AS (
     -- Locked in id order, so two batches wanting the same rows cannot deadlock.
     SELECT t.id, t.ticket_type_id, t.status, ${TICKET_LABEL_SQL} AS label, tt.price, tt.event_id
     FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id
     WHERE t.id = ANY($8::uuid[])
     ORDER BY t.id
     FOR UPDATE OF t
   ), free AS (
     -- Filtered after locking, so rows are found by primary key only: a status
     -- condition in the locking scan lets PostgreSQL AND in the partial index of free
     -- tickets, which reads every free ticket of the event on each booking.
     SELECT w.n, c.id, c.ticket_type_id, c.label, c.price
     FROM wanted w JOIN claimed c ON c.id = w.ticket_id
     JOIN holds h ON h.n = w.n AND h.event_id = c.event_id
     WHERE c.status = 'available'
   ), bookable AS (
     -- FOR SHARE waits for a cancellation that has the event row (FOR NO KEY UPDATE) and
     -- reads its new status when it commits; a cancellation that comes later waits for this
     -- hold and then finds its order. So no hold of a cancelled event commits unseen.
     SELECT h.n, e.currency FROM holds h JOIN events e ON e.id = h.event_id
     WHERE e.status = 'on_sale' AND e.starts_at > now()
     FOR SHARE OF e
   ), holding AS (
     -- A pending order committed before this statement; one committed meanwhile makes the
     -- unique index fail the statement, and the batch is retried hold by hold. LATERAL …
     -- LIMIT 1 probes the one-pending-per-buyer index per hold: a plain semi-join read
     -- every pending order of the table.
     SELECT h.n FROM holds h
     CROSS JOIN LATERAL (SELECT 1 FROM orders o WHERE o.user_id = h.user_id
                         AND o.event_id = h.event_id AND o.status = 'pending' LIMIT 1) pending
   ), go AS (
     SELECT h.*, bookable.currency, per_hold.total
     FROM holds h JOIN bookable ON bookable.n = h.n
     JOIN (SELECT n, count(*) AS tickets, sum(price) AS total FROM free GROUP BY n) per_hold
       ON per_hold.n = h.n AND per_hold.tickets = h.quantity
     WHERE h.n NOT IN (SELECT n FROM holding)
   ), taken AS (
     UPDATE tickets t SET status = 'locked', order_id = go.order_id, held_until = go.expires_at
     FROM free JOIN go ON go.n = free.n WHERE t.id = free.id
   ), new_orders AS (
     INSERT INTO orders (id, user_id, event_id, status, quantity, total_amount, currency,
                         expires_at, idempotency_key, request_hash)
     SELECT order_id, user_id, event_id, 'pending', quantity, total, currency, expires_at,
            idempotency_key, request_hash
     FROM go ORDER BY n
     RETURNING id, user_id AS "userId", event_id AS "eventId", status, quantity,
               total_amount::float8 AS "totalAmount", currency, expires_at AS "expiresAt",
               created_at AS "createdAt", updated_at AS "updatedAt"
   ), items AS (
     INSERT INTO order_items (order_id, ticket_id, ticket_type_id, label, price)
     SELECT go.order_id, free.id, free.ticket_type_id, free.label, free.price
     FROM free JOIN go ON go.n = free.n
   ), announced AS (
     ${Outbox.insertSql(
       availabilityChange(
         {
           type: 'locked',
           eventId: sql('go.event_id'),
           orderId: sql('go.order_id'),
           quantity: sql('go.quantity'),
         },
         'go',
       ),
     )}
   )
   SELECT (SELECT row_to_json(o) FROM new_orders o WHERE o.id = h.order_id) AS "order",
          (SELECT coalesce(json_agg(json_build_object(
             'id', id, 'ticketTypeId', ticket_type_id, 'label', label) ORDER BY label), '[]')
           FROM free WHERE free.n = h.n) AS free,
          EXISTS (SELECT 1 FROM bookable WHERE bookable.n = h.n) AS "eventBookable",
          EXISTS (SELECT 1 FROM holding WHERE holding.n = h.n) AS "alreadyHolding"
   FROM holds h ORDER BY h.n`;

/**
 * Group commit: holds that arrive while batches are running wait for the next one, which
 * takes everything queued (up to MAX_HOLDS_PER_BATCH) into one statement and one commit.
 * A few batches run at once, so a batch's round trip overlaps another's work.
 */
const MAX_HOLDS_PER_BATCH = 64;
const BATCHES_IN_FLIGHT = 3;

interface QueuedHold {
  request: HoldRequest;
  resolve: (result: HoldResult) => void;
  reject: (error: unknown) => void;
}

/**
 * (new) → `pending` for bookings (the first row of ORDER_TRANSITIONS): the one transition
 * that is group-committed, so its statement lives with the batching that shapes it.
 */
@Injectable()
export class HoldBatcher {
  private queuedHolds: QueuedHold[] = [];
  private batchesInFlight = 0;

  constructor(private readonly dataSource: DataSource) {}

  /** Holds waiting for a batch to start (for metrics, and for tests that make batches form). */
  get holdsWaiting(): number {
    return this.queuedHolds.length;
  }

  /**
   * (new) → pending, tickets available → locked, in ONE statement, which PostgreSQL runs
   * atomically in its own transaction: BEGIN and COMMIT as separate round trips cost more
   * than the statement itself here (round trips, not SQL, bounded the hold rate). Concurrent
   * holds share that statement (see HOLD_SQL and MAX_HOLDS_PER_BATCH).
   *
   * `claimed` locks the claimed rows (a row another booking is taking is read again after
   * its commit) and `free` keeps those still available; only if all of a hold's are, its
   * event is still on sale and its buyer holds no other pending order for the event, are
   * they taken and the order, its items and an outbox row inserted. Otherwise nothing
   * changes for that hold and `free` says which of its ids are still free.
   */
  hold(request: HoldRequest): Promise<HoldResult> {
    return new Promise((resolve, reject) => {
      this.queuedHolds.push({ request, resolve, reject });
      this.startBatches();
    });
  }

  private startBatches(): void {
    while (this.batchesInFlight < BATCHES_IN_FLIGHT && this.queuedHolds.length > 0) {
      const batch = this.nextBatch();
      this.batchesInFlight++;
      void this.runBatch(batch).finally(() => {
        this.batchesInFlight--;
        this.startBatches();
      });
    }
  }

  /**
   * The oldest queued holds (first come, first served), except a buyer's second hold or a
   * hold wanting an id another hold of the batch wants: those wait for the next batch, since
   * one statement cannot see its own inserts and would take a row twice.
   */
  private nextBatch(): QueuedHold[] {
    const batch: QueuedHold[] = [];
    const waiting: QueuedHold[] = [];
    const buyers = new Set<string>();
    const ticketIds = new Set<string>();
    for (const queued of this.queuedHolds) {
      const { userId, ticketIds: wanted } = queued.request;
      if (
        batch.length === MAX_HOLDS_PER_BATCH ||
        buyers.has(userId) ||
        wanted.some((id) => ticketIds.has(id))
      ) {
        waiting.push(queued);
        continue;
      }
      batch.push(queued);
      buyers.add(userId);
      wanted.forEach((id) => ticketIds.add(id));
    }
    this.queuedHolds = waiting;
    return batch;
  }

  /**
   * One statement for the batch. If it fails as a whole (a constraint broken by a hold that
   * committed elsewhere meanwhile, a deadlock), each hold is retried alone, so one buyer's
   * conflict fails that buyer only.
   */
  private async runBatch(batch: QueuedHold[]): Promise<void> {
    let results: HoldResult[];
    try {
      results = await this.holdStatement(batch.map((queued) => queued.request));
    } catch (error) {
      if (batch.length === 1) return batch[0].reject(error);
      await Promise.all(batch.map((queued) => this.runBatch([queued])));
      return;
    }
    batch.forEach((queued, i) => queued.resolve(results[i]));
  }

  private holdStatement(requests: HoldRequest[]): Promise<HoldResult[]> {
    return this.preparedQuery<HoldResult>('booking.hold', HOLD_SQL, [
      requests.map((request) => request.orderId),
      requests.map((request) => request.userId),
      requests.map((request) => request.eventId),
      requests.map((request) => request.expiresAt),
      requests.map((request) => request.idempotencyKey),
      requests.map((request) => request.requestHash),
      requests.map((request) => request.ticketIds.length),
      requests.flatMap((request) => request.ticketIds),
      requests.flatMap((request, i) => request.ticketIds.map(() => i + 1)),
    ]);
  }

  /**
   * A named prepared statement on TypeORM's own pool: PostgreSQL parses and plans it once
   * per connection instead of on every booking (planning was ~0.5 ms of ~2.2 ms).
   */
  private async preparedQuery<T>(name: string, text: string, values: unknown[]): Promise<T[]> {
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    const result = await pool.query<T & QueryResultRow>({ name, text, values });
    return result.rows;
  }
}
