import type { TicketPool } from '../ticket-pool';

export type ClaimResult =
  | { status: 'claimed'; ticketIds: string[] }
  | { status: 'sold_out'; available: number }
  | { status: 'not_loaded' };

export type ClaimTicketsResult =
  | { status: 'claimed' }
  | { status: 'unavailable'; ticketIds: string[] }
  | { status: 'not_loaded'; pool: TicketPool };

/**
 * The set of free ticket ids per ticket type, in front of PostgreSQL. Two implementations:
 * Redis (shared by every instance) and in-process (embedded mode, one instance). A store
 * may lose its contents at any time; PostgreSQL stays the source of truth and
 * TicketLockService reloads what is missing.
 */
export abstract class TicketLockStore {
  /** Atomically takes `quantity` ids of the pool, or none. */
  abstract claim(pool: TicketPool, quantity: number): Promise<ClaimResult>;
  /** Atomically takes exactly these ids (of one or more pools of an event), or none. */
  abstract claimTickets(
    claims: { pool: TicketPool; ticketIds: string[] }[],
  ): Promise<ClaimTicketsResult>;
  /** Gives ids back (only to a loaded pool: a pool not loaded is reloaded from PostgreSQL). */
  abstract release(pool: TicketPool, ticketIds: string[]): Promise<void>;
  /** Forgets ids that no longer exist (a shrunk ticket type). */
  abstract remove(pool: TicketPool, ticketIds: string[]): Promise<void>;
  /** Replaces the pool with these ids and marks it loaded. */
  abstract load(pool: TicketPool, ticketIds: string[], expiresAt: Date): Promise<void>;
  /** Free ids held, and when the pool last changed (ms), or null when not loaded. */
  abstract inspect(pool: TicketPool): Promise<{ size: number; lastChangeMs: number } | null>;
  /** A short mutual exclusion for loading one pool; a token to unlock with, or null if taken. */
  abstract tryLockLoading(pool: TicketPool): Promise<string | null>;
  abstract unlockLoading(pool: TicketPool, token: string): Promise<void>;
}
