// Types of invariants.js (CommonJS, so that the bench loads it with plain `node`).
import type Redis from 'ioredis';
import type { Client, Pool } from 'pg';
import type { DataSource } from 'typeorm';

/** Where the checks read: the suites' pg pool or TypeORM DataSource, the bench's client. */
export type Database = Pool | Client | DataSource;

/** A booking the server answered 201, with the ticket ids the answer listed. */
export interface CreatedBooking {
  orderId: string;
  ticketIds: string[];
}

/** The events to check, and what else is known of them. */
export interface InvariantScope {
  eventIds: string[];
  /** Bookings answered 201: each order's items must be exactly the tickets it listed. */
  created?: CreatedBooking[];
  /** Orders the payment provider took money for: each must be confirmed or refunded. */
  paidOrderIds?: string[];
  /** No order may be pending this long past its expiry (the expiry job has run). */
  expiredHoldGraceSeconds?: number;
}

/** One line per violation of the invariants listed in invariants.js (none expected). */
export function findViolations(db: Database, scope: InvariantScope): Promise<string[]>;

/** One line per ticket type whose free ids in the lock store differ from PostgreSQL's count. */
export function lockStoreMismatches(redis: Redis, db: Database, eventId: string): Promise<string[]>;
