import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Events, one row per sellable ticket, orders and their items, the outbox.
 *
 * Per-type counts (available / locked / sold) live in ticket_type_counters, spread over
 * up to 64 shard rows per type, one per database connection (backend pid modulo 64), so
 * concurrent bookings of one type do not queue on one counter row (with random shards they
 * did: most bookings waited on another's commit). A statement-level trigger on tickets
 * keeps them, so no code path can make them drift from the rows; reads sum the shards.
 */
export class CreateEventsInventoryOrders1764000100000 implements MigrationInterface {
  name = 'CreateEventsInventoryOrders1764000100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        description text,
        venue text NOT NULL CHECK (length(venue) BETWEEN 1 AND 200),
        starts_at timestamptz NOT NULL,
        currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
        max_tickets_per_order integer NOT NULL CHECK (max_tickets_per_order BETWEEN 1 AND 50),
        status text NOT NULL DEFAULT 'on_sale' CHECK (status IN ('on_sale', 'cancelled')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX events_starts_at_idx ON events (starts_at, id)`);

    await queryRunner.query(`
      CREATE TABLE ticket_types (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        position integer NOT NULL,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        label_prefix text NOT NULL,
        price integer NOT NULL CHECK (price >= 0),
        quantity integer NOT NULL CHECK (quantity BETWEEN 0 AND 1000000),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ticket_types_event_name_key UNIQUE (event_id, name),
        CONSTRAINT ticket_types_event_prefix_key UNIQUE (event_id, label_prefix),
        CONSTRAINT ticket_types_event_position_key UNIQUE (event_id, position)
      )`);

    await queryRunner.query(`
      CREATE TABLE orders (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id),
        event_id uuid NOT NULL REFERENCES events (id),
        status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed', 'expired', 'cancelled', 'refunded')),
        quantity integer NOT NULL CHECK (quantity > 0),
        total_amount bigint NOT NULL CHECK (total_amount >= 0),
        currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
        expires_at timestamptz NOT NULL,
        idempotency_key text,
        request_hash text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((idempotency_key IS NULL) = (request_hash IS NULL))
      )`);
    // One hold at a time per buyer and event: a second booking must wait for the first to end.
    await queryRunner.query(
      `CREATE UNIQUE INDEX orders_one_pending_per_buyer_key ON orders (user_id, event_id) WHERE status = 'pending'`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX orders_idempotency_key ON orders (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX orders_pending_expiry_idx ON orders (expires_at) WHERE status = 'pending'`,
    );
    await queryRunner.query(
      `CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id)`,
    );
    await queryRunner.query(`CREATE INDEX orders_event_idx ON orders (event_id)`);

    // Rows are kept narrow because a big on-sale inserts a million of them at once: the
    // label is computed from the type's prefix and the serial, and there is no foreign key
    // to ticket_types (checking one costs ~4 s per million rows here); tickets are only
    // inserted by TicketInventory.issue, for the type row it has just written and locked.
    await queryRunner.query(`
      CREATE TABLE tickets (
        id uuid PRIMARY KEY,
        ticket_type_id uuid NOT NULL,
        serial integer NOT NULL CHECK (serial > 0),
        status text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'locked', 'sold')),
        -- The order holding or owning it. Checked at commit, so a booking can take its
        -- tickets before it inserts the order row.
        order_id uuid REFERENCES orders (id) DEFERRABLE INITIALLY DEFERRED,
        held_until timestamptz,
        CONSTRAINT tickets_type_serial_key UNIQUE (ticket_type_id, serial),
        CONSTRAINT tickets_holder_matches_status CHECK ((status = 'available') = (order_id IS NULL)),
        CONSTRAINT tickets_hold_has_end CHECK ((status = 'locked') = (held_until IS NOT NULL))
      )`);
    await queryRunner.query(
      `CREATE INDEX tickets_available_idx ON tickets (ticket_type_id, serial) WHERE status = 'available'`,
    );
    await queryRunner.query(
      `CREATE INDEX tickets_taken_idx ON tickets (ticket_type_id, status, serial) WHERE status <> 'available'`,
    );
    await queryRunner.query(
      `CREATE INDEX tickets_order_idx ON tickets (order_id) WHERE order_id IS NOT NULL`,
    );

    await queryRunner.query(`
      CREATE TABLE order_items (
        order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        -- Kept after release for history (a ticket removed by shrinking its type may be gone).
        ticket_id uuid NOT NULL,
        ticket_type_id uuid NOT NULL REFERENCES ticket_types (id) ON DELETE CASCADE,
        label text NOT NULL,
        price integer NOT NULL CHECK (price >= 0),
        CONSTRAINT order_items_pkey PRIMARY KEY (order_id, ticket_id)
      )`);

    await queryRunner.query(`
      CREATE TABLE ticket_type_counters (
        ticket_type_id uuid NOT NULL REFERENCES ticket_types (id) ON DELETE CASCADE,
        shard smallint NOT NULL CHECK (shard BETWEEN 0 AND 63),
        available integer NOT NULL DEFAULT 0,
        locked integer NOT NULL DEFAULT 0,
        sold integer NOT NULL DEFAULT 0,
        PRIMARY KEY (ticket_type_id, shard)
      )`);
    await queryRunner.query(`
      CREATE FUNCTION count_ticket_changes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ticket_type_counters AS c (ticket_type_id, shard, available, locked, sold)
        SELECT ticket_type_id, (pg_backend_pid() % 64)::smallint,
               sum(available), sum(locked), sum(sold)
        FROM (
          SELECT ticket_type_id,
                 (status = 'available')::int AS available,
                 (status = 'locked')::int AS locked,
                 (status = 'sold')::int AS sold
          FROM new_rows
          UNION ALL
          SELECT ticket_type_id,
                 -(status = 'available')::int, -(status = 'locked')::int, -(status = 'sold')::int
          FROM old_rows
        ) AS changes
        GROUP BY ticket_type_id
        HAVING sum(available) <> 0 OR sum(locked) <> 0 OR sum(sold) <> 0
        -- A fixed order, so two statements touching several types cannot deadlock.
        ORDER BY ticket_type_id
        ON CONFLICT (ticket_type_id, shard) DO UPDATE
          SET available = c.available + excluded.available,
              locked = c.locked + excluded.locked,
              sold = c.sold + excluded.sold;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION count_ticket_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ticket_type_counters AS c (ticket_type_id, shard, available, locked, sold)
        SELECT ticket_type_id, 0, count(*) FILTER (WHERE status = 'available'),
               count(*) FILTER (WHERE status = 'locked'), count(*) FILTER (WHERE status = 'sold')
        FROM new_rows GROUP BY ticket_type_id ORDER BY ticket_type_id
        ON CONFLICT (ticket_type_id, shard) DO UPDATE
          SET available = c.available + excluded.available,
              locked = c.locked + excluded.locked,
              sold = c.sold + excluded.sold;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION count_ticket_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ticket_type_counters AS c (ticket_type_id, shard, available, locked, sold)
        SELECT ticket_type_id, 0, -count(*) FILTER (WHERE status = 'available'),
               -count(*) FILTER (WHERE status = 'locked'), -count(*) FILTER (WHERE status = 'sold')
        FROM old_rows GROUP BY ticket_type_id ORDER BY ticket_type_id
        ON CONFLICT (ticket_type_id, shard) DO UPDATE
          SET available = c.available + excluded.available,
              locked = c.locked + excluded.locked,
              sold = c.sold + excluded.sold;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER tickets_count_updates AFTER UPDATE ON tickets
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION count_ticket_changes()`);
    await queryRunner.query(`
      CREATE TRIGGER tickets_count_inserts AFTER INSERT ON tickets
      REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION count_ticket_inserts()`);
    await queryRunner.query(`
      CREATE TRIGGER tickets_count_deletes AFTER DELETE ON tickets
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION count_ticket_deletes()`);

    await queryRunner.query(`
      CREATE TABLE outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        topic text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DROP TABLE outbox, ticket_type_counters, order_items, tickets, orders, ticket_types, events`,
    );
    await queryRunner.query(
      `DROP FUNCTION count_ticket_changes, count_ticket_inserts, count_ticket_deletes`,
    );
  }
}
