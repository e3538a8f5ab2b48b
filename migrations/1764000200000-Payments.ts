import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payments: each order's provider checkout session and payment, and the webhook event ids
 * already applied. The new order columns are nullable without defaults, so adding them does
 * not rewrite the table.
 */
export class Payments1764000200000 implements MigrationInterface {
  name = 'Payments1764000200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE orders
        ADD COLUMN checkout_session_id text,
        ADD COLUMN checkout_session_url text,
        -- Set once the session can no longer be paid (completed or expired at the provider).
        ADD COLUMN checkout_session_closed_at timestamptz,
        ADD COLUMN payment_intent_id text,
        -- A payment arrived that could not be turned into tickets: it must be refunded.
        ADD COLUMN refund_due_at timestamptz,
        ADD CONSTRAINT orders_checkout_session_has_url
          CHECK ((checkout_session_id IS NULL) = (checkout_session_url IS NULL)),
        ADD CONSTRAINT orders_refund_due_has_payment
          CHECK (refund_due_at IS NULL OR payment_intent_id IS NOT NULL)`);
    // The simulator finds its sessions by id. Not unique: stripe-mock answers every create
    // with the same fixture id, and nothing relies on it (events name their order).
    await queryRunner.query(
      `CREATE INDEX orders_checkout_session_idx ON orders (checkout_session_id) WHERE checkout_session_id IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX orders_payment_intent_idx ON orders (payment_intent_id) WHERE payment_intent_id IS NOT NULL`,
    );
    // What CheckoutSessionExpiryJob still has to expire at the provider.
    await queryRunner.query(
      `CREATE INDEX orders_open_checkout_session_idx ON orders (updated_at)
       WHERE checkout_session_id IS NOT NULL AND checkout_session_closed_at IS NULL
         AND status IN ('expired', 'cancelled', 'failed')`,
    );
    await queryRunner.query(
      `CREATE INDEX orders_refund_due_idx ON orders (refund_due_at) WHERE refund_due_at IS NOT NULL`,
    );

    await queryRunner.query(`
      CREATE TABLE processed_payment_events (
        id text PRIMARY KEY,
        type text NOT NULL,
        order_id uuid NOT NULL REFERENCES orders (id),
        processed_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE processed_payment_events`);
    await queryRunner.query(`
      ALTER TABLE orders
        DROP COLUMN checkout_session_id,
        DROP COLUMN checkout_session_url,
        DROP COLUMN checkout_session_closed_at,
        DROP COLUMN payment_intent_id,
        DROP COLUMN refund_due_at`);
  }
}
