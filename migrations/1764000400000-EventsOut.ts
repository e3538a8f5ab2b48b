import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Events out and the admin view: which outbox messages each consumer group has applied (so a
 * message delivered twice takes effect once), an index to prune published outbox rows, and
 * covering indexes over paid orders so the admin stats sum revenue and sales per minute
 * without reading the table. Partial on `confirmed`, so holds (the hot path) never touch them.
 */
export class EventsOut1764000400000 implements MigrationInterface {
  name = 'EventsOut1764000400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE consumed_messages (
        consumer_group text NOT NULL,
        outbox_id bigint NOT NULL,
        consumed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer_group, outbox_id)
      )`);
    await queryRunner.query(
      `CREATE INDEX consumed_messages_consumed_at_idx ON consumed_messages (consumed_at)`,
    );
    await queryRunner.query(
      `CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX orders_confirmed_event_idx ON orders (event_id) INCLUDE (total_amount)
       WHERE status = 'confirmed'`,
    );
    await queryRunner.query(
      `CREATE INDEX orders_confirmed_recent_idx ON orders (updated_at) INCLUDE (quantity)
       WHERE status = 'confirmed'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX orders_confirmed_recent_idx, orders_confirmed_event_idx`);
    await queryRunner.query(`DROP INDEX outbox_published_at_idx`);
    await queryRunner.query(`DROP TABLE consumed_messages`);
  }
}
