import type { TicketPool } from '../ticket-pool';

/**
 * Who claims, for the buyer's guard: one booking of a buyer per event at a time. A claim
 * that takes tickets leaves the guard naming the order the booking will create (until
 * `guardTtlMs` or its release); a claim that finds another order's guard takes nothing.
 */
export interface BuyerClaim {
  userId: string;
  /** The order the booking will create; a retry of the same booking passes the same id. */
  orderId: string;
  guardTtlMs: number;
  /** Claims allowed per buyer and event per minute; 0: not counted (off, or a retry). */
  ratePerMinute: number;
}

/** Answers every claim may give on the buyer's account, before any ticket is taken. */
export type BuyerRefusal =
  { status: 'held_by'; orderId: string } | { status: 'rate_limited'; retryAfterMs: number };

export type ClaimResult =
  | { status: 'claimed'; ticketIds: string[] }
  | { status: 'sold_out'; available: number }
  | { status: 'not_loaded' }
  | BuyerRefusal;

export type ClaimTicketsResult =
  | { status: 'claimed' }
  | { status: 'unavailable'; ticketIds: string[] }
  | { status: 'not_loaded'; pool: TicketPool }
  | BuyerRefusal;

/** The rate window of `BuyerClaim.ratePerMinute`. */
export const RATE_WINDOW_MS = 60_000;

/**
 * The set of free ticket ids per ticket type, in front of PostgreSQL. Two implementations:
 * Redis (shared by every instance) and in-process (embedded mode, one instance). A store
 * may lose its contents at any time; PostgreSQL stays the source of truth and
 * TicketLockService reloads what is missing.
 */
export abstract class TicketLockStore {
  /**
   * Atomically, in this order: counts the buyer's rate, checks the buyer's guard (another
   * order's guard: nothing is taken), takes `quantity` ids of the pool or none, and on
   * success sets the guard to `buyer.orderId`.
   */
  abstract claim(pool: TicketPool, quantity: number, buyer: BuyerClaim): Promise<ClaimResult>;
  /** The same, taking exactly these ids (of one or more pools of an event), or none. */
  abstract claimTickets(
    claims: { pool: TicketPool; ticketIds: string[] }[],
    buyer: BuyerClaim,
  ): Promise<ClaimTicketsResult>;
  /** Removes the buyer's guard if it still names `orderId` (compare-and-delete). */
  abstract releaseGuard(eventId: string, userId: string, orderId: string): Promise<void>;
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
