import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * E-ticket codes. `ticket_signing_keys` remembers when this deployment first used each
 * Ed25519 key (the private keys stay in the configuration). `orders.confirmed_at` tells
 * which orders ever had valid codes, so the revocation list names exactly the codes of
 * confirmed orders that were refunded or cancelled later; a trigger sets it, so every path
 * that confirms an order (paid in time, paid late) records it without knowing about tickets.
 */
export class TicketCodes1764000500000 implements MigrationInterface {
  name = 'TicketCodes1764000500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ticket_signing_keys (
        id text PRIMARY KEY,
        public_key bytea NOT NULL CHECK (length(public_key) = 32),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);

    await queryRunner.query(`ALTER TABLE orders ADD COLUMN confirmed_at timestamptz`);
    // Orders confirmed before this migration: conservatively, every confirmed or refunded
    // one (listing a code that was never valid as revoked admits no one).
    await queryRunner.query(
      `UPDATE orders SET confirmed_at = updated_at WHERE status IN ('confirmed', 'refunded')`,
    );
    await queryRunner.query(`
      CREATE FUNCTION record_order_confirmation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.confirmed_at := now();
        RETURN NEW;
      END $$`);
    // The WHEN clause keeps every other order update free of the function call.
    await queryRunner.query(`
      CREATE TRIGGER orders_record_confirmation BEFORE UPDATE OF status ON orders
      FOR EACH ROW
      WHEN (NEW.status = 'confirmed' AND OLD.status <> 'confirmed' AND OLD.confirmed_at IS NULL)
      EXECUTE FUNCTION record_order_confirmation()`);
    await queryRunner.query(
      `CREATE INDEX orders_revoked_codes_idx ON orders (event_id)
       WHERE confirmed_at IS NOT NULL AND status <> 'confirmed'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER orders_record_confirmation ON orders`);
    await queryRunner.query(`DROP FUNCTION record_order_confirmation()`);
    await queryRunner.query(`ALTER TABLE orders DROP COLUMN confirmed_at`);
    await queryRunner.query(`DROP TABLE ticket_signing_keys`);
  }
}
