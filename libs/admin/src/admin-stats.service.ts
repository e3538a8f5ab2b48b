import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type {
  AdminStatsView,
  EventStatsView,
  JobAttentionView,
  SalesMinuteView,
} from './admin-stats.dto';

const SPARKLINE_MINUTES = 60;

/**
 * The sales dashboard's numbers. Each figure comes from a counter or an aggregate over an
 * index, never from counting ticket rows: counts from the counter shards, revenue from a
 * covering index of paid orders, waitlist and check-ins from their event indexes, sales per
 * minute from a covering index of paid orders by time. Cheap with a thousand events.
 */
@Injectable()
export class AdminStatsService {
  constructor(private readonly dataSource: DataSource) {}

  async stats(): Promise<AdminStatsView> {
    // Read first: every count below is at least this recent (PostgreSQL's clock, like the
    // `at` of the availability socket's snapshots, so the dashboard can tell which is newer).
    const [{ at }]: { at: Date }[] = await this.dataSource.query(`SELECT clock_timestamp() AS at`);
    const [events, salesPerMinute, jobsNeedingAttention] = await Promise.all([
      this.events(),
      this.salesPerMinute(),
      this.jobsNeedingAttention(),
    ]);
    return { events, salesPerMinute, jobsNeedingAttention, at: new Date(at).toISOString() };
  }

  private events(): Promise<EventStatsView[]> {
    return this.dataSource.query(
      `WITH shown AS (
         SELECT id, name, starts_at, status, currency FROM events
         WHERE starts_at > now() - interval '24 hours'
       ), counts AS (
         SELECT tt.event_id, sum(c.available) AS available, sum(c.locked) AS locked, sum(c.sold) AS sold
         FROM ticket_types tt JOIN ticket_type_counters c ON c.ticket_type_id = tt.id
         WHERE tt.event_id IN (SELECT id FROM shown) GROUP BY tt.event_id
       ), revenue AS (
         SELECT event_id, sum(total_amount) AS revenue FROM orders
         WHERE status = 'confirmed' AND event_id IN (SELECT id FROM shown) GROUP BY event_id
       ), waitlist AS (
         SELECT event_id, count(*) AS waiting FROM waitlist_entries
         WHERE status = 'waiting' AND event_id IN (SELECT id FROM shown) GROUP BY event_id
       ), door AS (
         SELECT event_id, count(*) AS checked_in FROM check_ins
         WHERE event_id IN (SELECT id FROM shown) GROUP BY event_id
       )
       SELECT shown.id, shown.name, shown.starts_at AS "startsAt", shown.status,
              coalesce(counts.sold, 0)::int AS sold, coalesce(counts.locked, 0)::int AS locked,
              coalesce(counts.available, 0)::int AS available,
              coalesce(revenue.revenue, 0)::float8 AS revenue, shown.currency,
              coalesce(waitlist.waiting, 0)::int AS waitlist,
              coalesce(door.checked_in, 0)::int AS "checkedIn"
       FROM shown
       LEFT JOIN counts ON counts.event_id = shown.id
       LEFT JOIN revenue ON revenue.event_id = shown.id
       LEFT JOIN waitlist ON waitlist.event_id = shown.id
       LEFT JOIN door ON door.event_id = shown.id
       ORDER BY shown.starts_at, shown.id`,
    );
  }

  /** One entry per minute, zeros included, the current (partial) minute last. */
  private async salesPerMinute(): Promise<SalesMinuteView[]> {
    const rows: SalesMinuteView[] = await this.dataSource.query(
      `SELECT minutes.minute, coalesce(sum(o.quantity), 0)::int AS tickets
       FROM generate_series(date_trunc('minute', now()) - interval '${SPARKLINE_MINUTES - 1} minutes',
                            date_trunc('minute', now()), interval '1 minute') AS minutes (minute)
       LEFT JOIN orders o ON o.status = 'confirmed'
         AND o.updated_at >= minutes.minute AND o.updated_at < minutes.minute + interval '1 minute'
       GROUP BY minutes.minute ORDER BY minutes.minute`,
    );
    return rows.map((row) => ({
      minute: new Date(row.minute).toISOString(),
      tickets: row.tickets,
    }));
  }

  /** Through the partial index of rows the jobs gave up on. */
  private jobsNeedingAttention(): Promise<JobAttentionView[]> {
    return this.dataSource.query(
      `SELECT job, count(*)::int AS rows FROM job_row_attempts
       WHERE attention_at IS NOT NULL GROUP BY job ORDER BY job`,
    );
  }
}
