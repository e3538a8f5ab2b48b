import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The buyer's emails, one row per order and kind of mail: the row is the claim to send it
 * (so a redelivered message finds it and sends nothing more) and, once sent, the record of
 * what was sent. A sender leases a row while it talks to the mail server, so two instances
 * never send the same mail at once. `skipped`: by the time it could go, the mail no longer made
 * sense (a waitlist offer that had ended, a confirmation of an order since refunded).
 */
export class SentNotifications1764000800000 implements MigrationInterface {
  name = 'SentNotifications1764000800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE sent_notifications (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('confirmed', 'payment_failed', 'hold_expired',
          'refunded', 'event_cancelled', 'waitlist_offer')),
        outbox_id bigint NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'skipped')),
        leased_until timestamptz,
        recipient text,
        subject text,
        message_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        UNIQUE (order_id, kind),
        CHECK ((status = 'sent') = (sent_at IS NOT NULL))
      )`);
    await queryRunner.query(
      `CREATE INDEX sent_notifications_pending_idx ON sent_notifications (created_at) WHERE status = 'pending'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE sent_notifications`);
  }
}
