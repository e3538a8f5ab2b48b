import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { DomainError } from '@app/common';
import {
  BookingRateLimitedError,
  InventoryUnavailableError,
  SoldOutError,
  TicketsUnavailableError,
} from '../tickets.errors';
import { TicketInventory } from '../ticket-inventory';
import { poolKey, type TicketPool } from '../ticket-pool';
import { type BuyerClaim, type BuyerRefusal, TicketLockStore } from './ticket-lock.store';

/** What a claim took, or the order the buyer's guard names instead (nothing taken). */
export type Claim = { ticketIds: string[] } | { heldBy: string };

/**
 * How long a booking waits for the store before answering 503. ioredis's commandTimeout
 * starts only when a command is written, and auto-pipelined commands queue behind a batch
 * that a frozen Redis is not answering: without this, a booking could wait out the freeze.
 */
const ANSWER_DEADLINE_MS = 1_000;
const LOAD_WAIT_MS = 5_000;
const LOAD_POLL_MS = 25;
/**
 * A pool the store found empty answers sold out from memory for this long: in an on-sale's
 * tail every buyer still pressing "book" would otherwise cost a store round trip. Tickets
 * another instance frees become bookable here at most this much later; this instance's own
 * releases and loads forget the memo at once.
 */
const SOLD_OUT_MEMO_MS = 100;
/** Pools live in the store until a day after their event starts. */
const POOL_TTL_AFTER_START_MS = 24 * 3600 * 1000;

/**
 * The gate in front of PostgreSQL on the booking path: claims free ticket ids atomically in
 * the store (Redis, or in-process in embedded mode), so sold-out answers cost no database
 * query and PostgreSQL only confirms ids by primary key. A pool the store does not have
 * (first use, Redis flushed or restarted) is loaded from PostgreSQL once, under a lock.
 */
@Injectable()
export class TicketLockService {
  private readonly logger = new Logger(TicketLockService.name);
  private readonly loadsInFlight = new Map<string, Promise<void>>();
  /** Pool key → when (performance.now()) the store last answered it was empty. */
  private readonly emptySince = new Map<string, number>();

  constructor(
    private readonly store: TicketLockStore,
    private readonly inventory: TicketInventory,
  ) {}

  /**
   * Takes `quantity` free ids of the pool for the buyer (see BuyerClaim), or nothing: throws
   * SoldOutError or BookingRateLimitedError, or answers the order the buyer's guard names.
   */
  async claim(
    pool: TicketPool,
    quantity: number,
    startsAt: Date,
    buyer: BuyerClaim,
  ): Promise<Claim> {
    const key = poolKey(pool);
    const emptySince = this.emptySince.get(key);
    if (emptySince !== undefined) {
      if (performance.now() - emptySince < SOLD_OUT_MEMO_MS) throw new SoldOutError(0);
      this.emptySince.delete(key);
    }
    for (let attempt = 0; ; attempt++) {
      // A retry after loading the pool is the same claim: its rate was counted.
      const claimant = attempt === 0 ? buyer : { ...buyer, ratePerMinute: 0 };
      const result = await this.guard(() => this.store.claim(pool, quantity, claimant), {
        // Answered 503 already: ids taken after the deadline go straight back.
        undoLate: (late) =>
          late.status === 'claimed' ? this.undoClaim(pool, late.ticketIds, buyer) : undefined,
      });
      if (result.status === 'claimed') return { ticketIds: result.ticketIds };
      if (result.status === 'sold_out') {
        if (result.available === 0) this.emptySince.set(key, performance.now());
        throw new SoldOutError(result.available);
      }
      if (result.status !== 'not_loaded') return refused(result);
      if (attempt > 0) throw new InventoryUnavailableError();
      await this.load(pool, startsAt);
    }
  }

  /** Takes exactly these ids (grouped by pool) for the buyer, all or none; see `claim`. */
  async claimTickets(
    claims: { pool: TicketPool; ticketIds: string[] }[],
    startsAt: Date,
    buyer: BuyerClaim,
  ): Promise<Claim> {
    for (let attempt = 0; ; attempt++) {
      const claimant = attempt === 0 ? buyer : { ...buyer, ratePerMinute: 0 };
      const result = await this.guard(() => this.store.claimTickets(claims, claimant), {
        undoLate: (late) =>
          late.status === 'claimed'
            ? Promise.all(claims.map((claim) => this.undoClaim(claim.pool, claim.ticketIds, buyer)))
            : undefined,
      });
      if (result.status === 'claimed') return { ticketIds: claims.flatMap((c) => c.ticketIds) };
      if (result.status === 'unavailable') throw new TicketsUnavailableError(result.ticketIds);
      if (result.status !== 'not_loaded') return refused(result);
      if (attempt > 2 * claims.length) throw new InventoryUnavailableError();
      await this.load(result.pool, startsAt);
    }
  }

  /**
   * Lifts the buyer's guard if it still names `orderId`: the booking failed, or its order
   * ended. A failure is logged: the guard lapses on its own, and a stale one is recognised
   * by the booking (BookingGuard).
   */
  async releaseGuard(eventId: string, userId: string, orderId: string): Promise<void> {
    try {
      await this.store.releaseGuard(eventId, userId, orderId);
    } catch (error) {
      this.logger.warn(`Could not lift a buyer's booking guard: ${String(error)}`);
    }
  }

  /** A claim answered after its deadline: its ids and its guard go back at once. */
  private async undoClaim(pool: TicketPool, ticketIds: string[], buyer: BuyerClaim) {
    await this.release(pool, ticketIds);
    await this.releaseGuard(pool.eventId, buyer.userId, buyer.orderId);
  }

  /**
   * Gives ids back after they were freed in PostgreSQL (or never taken there). A failure is
   * logged, not thrown: PostgreSQL already has the truth and InventoryReconcileJob puts
   * lost ids back.
   */
  async release(pool: TicketPool, ticketIds: string[]): Promise<void> {
    this.emptySince.delete(poolKey(pool));
    try {
      await this.store.release(pool, ticketIds);
    } catch (error) {
      this.logger.warn(
        `Could not return ${ticketIds.length} ticket(s) to the lock store: ${String(error)}`,
      );
    }
  }

  async remove(pool: TicketPool, ticketIds: string[]): Promise<void> {
    try {
      await this.store.remove(pool, ticketIds);
    } catch (error) {
      this.logger.warn(
        `Could not remove ${ticketIds.length} ticket(s) from the lock store: ${String(error)}`,
      );
    }
  }

  inspect(pool: TicketPool): Promise<{ size: number; lastChangeMs: number } | null> {
    return this.guard(() => this.store.inspect(pool));
  }

  /** (Re)loads a pool from PostgreSQL: once per process at a time, once across instances. */
  load(pool: TicketPool, startsAt: Date): Promise<void> {
    const key = poolKey(pool);
    this.emptySince.delete(key);
    let inFlight = this.loadsInFlight.get(key);
    if (!inFlight) {
      inFlight = this.loadOnce(pool, startsAt).finally(() => this.loadsInFlight.delete(key));
      this.loadsInFlight.set(key, inFlight);
    }
    return inFlight;
  }

  private async loadOnce(pool: TicketPool, startsAt: Date): Promise<void> {
    const token = await this.guard(() => this.store.tryLockLoading(pool));
    if (token === null) return this.waitUntilLoaded(pool);
    try {
      const ids = await this.inventory.availableIds(pool.ticketTypeId);
      const expiresAt = new Date(
        Math.max(startsAt.getTime(), Date.now()) + POOL_TTL_AFTER_START_MS,
      );
      // Many round trips for a big pool, each bounded by ioredis's own timeout.
      await this.guard(() => this.store.load(pool, ids, expiresAt), { deadlineMs: null });
      this.logger.log(
        `Loaded ${ids.length} free ticket(s) of type ${pool.ticketTypeId} into the lock store`,
      );
    } finally {
      await this.store.unlockLoading(pool, token).catch(() => undefined);
    }
  }

  /** Another instance is loading the pool: wait for it (bounded), then go on. */
  private async waitUntilLoaded(pool: TicketPool): Promise<void> {
    for (let waited = 0; waited < LOAD_WAIT_MS; waited += LOAD_POLL_MS) {
      if ((await this.guard(() => this.store.inspect(pool))) !== null) return;
      await delay(LOAD_POLL_MS);
    }
    throw new InventoryUnavailableError();
  }

  /**
   * Store failures (Redis down, timed out, no answer by the deadline) become a typed 503.
   * `undoLate` gets the answer of an operation given up on at its deadline, if it comes.
   */
  private async guard<T>(
    operation: () => Promise<T>,
    {
      undoLate,
      deadlineMs = ANSWER_DEADLINE_MS,
    }: {
      undoLate?: (late: T) => Promise<unknown> | undefined;
      deadlineMs?: number | null;
    } = {},
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let expired = false;
    const running = operation();
    try {
      if (deadlineMs === null) return await running;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          // After a pause of this process (a long GC, a synchronous task) the timer fires
          // before the I/O phase reads an answer that came meanwhile: give up only after
          // that phase, so that only an answer that truly did not come is a 503.
          () =>
            setImmediate(() => {
              expired = true;
              reject(new Error(`no answer in ${deadlineMs} ms`));
            }),
          deadlineMs,
        );
      });
      return await Promise.race([running, deadline]);
    } catch (error) {
      if (expired) running.then((late) => undoLate?.(late)).catch(() => undefined);
      if (error instanceof DomainError) throw error;
      this.logger.warn(`Lock store unavailable: ${String(error)}`);
      throw new InventoryUnavailableError();
    } finally {
      clearTimeout(timer);
    }
  }
}

function refused(refusal: BuyerRefusal): Claim {
  if (refusal.status === 'rate_limited')
    throw new BookingRateLimitedError(Math.ceil(refusal.retryAfterMs / 1000));
  return { heldBy: refusal.orderId };
}
