import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What happens after the sale: the `staff` role for door check-in, the check-ins themselves
 * (one row per admitted ticket: the primary key is what admits a ticket once, however many
 * scanners scan it at once), and the waitlist of sold-out ticket types.
 */
export class DoorStaffAndWaitlist1764000250000 implements MigrationInterface {
  name = 'DoorStaffAndWaitlist1764000250000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE users DROP CONSTRAINT users_role_check,
        ADD CONSTRAINT users_role_check CHECK (role IN ('customer', 'staff', 'admin'))`);

    await queryRunner.query(`
      CREATE TABLE check_ins (
        ticket_id uuid PRIMARY KEY,
        event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        order_id uuid NOT NULL REFERENCES orders (id),
        checked_in_at timestamptz NOT NULL DEFAULT now(),
        checked_in_by uuid NOT NULL REFERENCES users (id)
      )`);
    await queryRunner.query(
      `CREATE INDEX check_ins_event_idx ON check_ins (event_id, checked_in_at DESC, ticket_id)`,
    );

    await queryRunner.query(`
      CREATE TABLE waitlist_entries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id),
        event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        ticket_type_id uuid NOT NULL REFERENCES ticket_types (id) ON DELETE CASCADE,
        quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 50),
        status text NOT NULL DEFAULT 'waiting'
          CHECK (status IN ('waiting', 'offered', 'fulfilled', 'expired', 'left')),
        -- The pending order that holds an offer's tickets.
        order_id uuid REFERENCES orders (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT waitlist_offer_has_order CHECK (status <> 'offered' OR order_id IS NOT NULL)
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX waitlist_one_open_entry_key ON waitlist_entries (user_id, ticket_type_id)
       WHERE status IN ('waiting', 'offered')`,
    );
    // The queue: first come, first served per ticket type.
    await queryRunner.query(
      `CREATE INDEX waitlist_queue_idx ON waitlist_entries (ticket_type_id, created_at, id)
       WHERE status = 'waiting'`,
    );
    await queryRunner.query(
      `CREATE INDEX waitlist_user_idx ON waitlist_entries (user_id, created_at DESC)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX waitlist_order_key ON waitlist_entries (order_id) WHERE order_id IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE waitlist_entries, check_ins`);
    await queryRunner.query(`UPDATE users SET role = 'customer' WHERE role = 'staff'`);
    await queryRunner.query(`
      ALTER TABLE users DROP CONSTRAINT users_role_check,
        ADD CONSTRAINT users_role_check CHECK (role IN ('customer', 'admin'))`);
  }
}
