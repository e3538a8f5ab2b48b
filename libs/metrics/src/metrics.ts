import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import type { Environment } from '@app/config';

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Every metric this instance exports, in a registry of its own (two apps in one process, as
 * in the tests, must not share one). Labels are low-cardinality: route templates, status
 * classes, fixed type and reason sets.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  readonly holds = this.counter(
    'ticketing_holds_total',
    'Bookings that held tickets (committed holds)',
  );

  readonly soldOutAnswers = this.counter(
    'ticketing_sold_out_answers_total',
    'Bookings answered 409 sold out',
  );

  readonly ticketsSold = this.counter('ticketing_tickets_sold_total', 'Tickets sold (paid orders)');

  readonly releases = this.counter(
    'ticketing_releases_total',
    'Orders whose tickets went back on sale, by reason (expired is a hold expiry)',
    ['reason'],
  );

  readonly webhookEvents = this.counter(
    'ticketing_webhook_events_total',
    'Payment provider webhook events by type and outcome',
    ['type', 'outcome'],
  );

  readonly emailsSent = this.counter(
    'ticketing_emails_sent_total',
    'Buyer emails accepted by the mail server (or, with no SMTP_URL, logged), by kind',
    ['kind'],
  );

  readonly emailFailures = this.counter(
    'ticketing_email_failures_total',
    'Failed attempts to send a buyer email: unavailable (server unreachable, retried) or refused (counted against the mail; given up ones in ticketing_job_rows_needing_attention{job="mail_delivery"})',
    ['reason'],
  );

  readonly socketClients = new Gauge({
    name: 'ticketing_socket_clients',
    help: 'Availability socket clients connected to this instance',
    registers: [this.registry],
  });

  constructor(dataSource: DataSource, config: ConfigService<Environment, true>) {
    // Off, the counters stay (an increment costs nothing) but nothing samples the process.
    if (config.get('METRICS_ENABLED', { infer: true }))
      collectDefaultMetrics({ register: this.registry });
    // Read at scrape time through the partial index of unpublished rows.
    // Both gauges are collected at once per scrape; they share one query.
    let reading: Promise<{ backlog: number; lag: number }> | undefined;
    const outbox = () =>
      (reading ??= dataSource
        .query(
          `SELECT count(*)::int AS backlog,
                  coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS lag
           FROM outbox WHERE published_at IS NULL`,
        )
        .then((rows: { backlog: number; lag: number }[]) => rows[0])
        .finally(() => (reading = undefined)));
    new Gauge({
      name: 'ticketing_outbox_backlog',
      help: 'Outbox rows not yet published',
      registers: [this.registry],
      async collect() {
        this.set((await outbox()).backlog);
      },
    });
    new Gauge({
      name: 'ticketing_job_rows_needing_attention',
      help: 'Rows a background job gave up on after its retries, left for a human',
      labelNames: ['job'] as const,
      registers: [this.registry],
      async collect() {
        const rows: { job: string; count: number }[] = await dataSource.query(
          `SELECT job, count(*)::int AS count FROM job_row_attempts
           WHERE attention_at IS NOT NULL GROUP BY job`,
        );
        this.reset();
        for (const row of rows) this.set({ job: row.job }, row.count);
      },
    });
    new Gauge({
      name: 'ticketing_outbox_lag_seconds',
      help: 'Age of the oldest unpublished outbox row (0 when all are published)',
      registers: [this.registry],
      async collect() {
        this.set((await outbox()).lag);
      },
    });
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** `route` is the route's template (undefined when no route matched). */
  observeHttp(method: string, route: string | undefined, status: number, ms: number): void {
    this.httpDuration.observe(
      { method, route: route ?? 'unmatched', status_class: `${Math.floor(status / 100)}xx` },
      ms / 1000,
    );
  }
}
