import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { Environment } from '@app/config';
import { TicketLockService, type BuyerClaim, type Claim } from '@app/tickets';
import { AlreadyHoldingError } from './orders.errors';

/** A booking that has not answered in this long is not in flight any more (its process died). */
const IN_FLIGHT_MAX_MS = 30_000;
/** The guard outlives its order's hold by this much; a stale guard is found anyway. */
const GUARD_SLACK_MS = 60_000;

/**
 * One booking of a buyer per event at a time, so that one account can never keep tickets
 * away from others by repeating bookings (each repeat would take tickets from the lock store
 * only to be refused by PostgreSQL and give them back):
 * - in this process, a buyer's bookings of one event run one after the other, so a retry
 *   with the same Idempotency-Key finds the first one's order;
 * - across instances, the lock store's guard: the claim that takes tickets sets it to the
 *   order the booking is making, and every later claim of the buyer for the event checks it
 *   in the same atomic step, before any ticket is taken.
 * A guard is lifted when its booking fails, and otherwise found stale lazily: when a guard
 * refuses a claim, PostgreSQL says whether its order still holds (pending) or its booking is
 * still in flight. So no transition has to lift it, and a guard the lock store lost (Redis
 * flushed) costs one claim that PostgreSQL refuses, after which the guard stands again.
 */
@Injectable()
export class BookingGuard {
  /** `eventId:userId` → the buyer's last booking of the event in this process, settled. */
  private readonly running = new Map<string, Promise<void>>();
  private readonly guardTtlMs: number;
  private readonly ratePerMinute: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly lock: TicketLockService,
    config: ConfigService<Environment, true>,
  ) {
    this.guardTtlMs = config.get('HOLD_SECONDS', { infer: true }) * 1000 + GUARD_SLACK_MS;
    this.ratePerMinute = config.get('BOOKING_RATE_LIMIT', { infer: true });
  }

  /** Runs the buyer's booking of the event once their earlier ones in this process are done. */
  oneAtATime<T>(eventId: string, userId: string, book: () => Promise<T>): Promise<T> {
    const key = `${eventId}:${userId}`;
    const before = this.running.get(key);
    const run = before ? before.then(book) : book();
    const settled = run.then(settle, settle);
    this.running.set(key, settled);
    void settled.then(() => {
      if (this.running.get(key) === settled) this.running.delete(key);
    });
    return run;
  }

  /** The buyer's side of a new booking's claims: the order it will make is its guard. */
  newBooking(userId: string): BuyerClaim {
    // Time-ordered: the order's rows land on the right-most pages of the indexes keyed by
    // order id (orders, order_items, tickets.order_id) instead of a random page each; and
    // the guard can tell from the id how long its booking has been in flight.
    return {
      userId,
      orderId: uuidv7(),
      guardTtlMs: this.guardTtlMs,
      ratePerMinute: this.ratePerMinute,
    };
  }

  /**
   * Claims through `claim` until it takes tickets. A guard naming another order answers
   * AlreadyHoldingError while that order holds or its booking is in flight; a stale one is
   * lifted and the claim made again (its rate already counted).
   */
  async claim(
    eventId: string,
    buyer: BuyerClaim,
    claim: (buyer: BuyerClaim) => Promise<Claim>,
  ): Promise<string[]> {
    for (let claimant = buyer; ; claimant = { ...buyer, ratePerMinute: 0 }) {
      const result = await claim(claimant);
      if ('ticketIds' in result) return result.ticketIds;
      if (claimant !== buyer || !(await this.isStale(result.heldBy)))
        throw new AlreadyHoldingError();
      await this.lock.releaseGuard(eventId, buyer.userId, result.heldBy);
    }
  }

  /**
   * The booking failed after its claim: its guard goes, unless PostgreSQL found the buyer
   * holding already (the lock store had lost the guard): then it stands, and the buyer's
   * repeats are refused before they take tickets until it is found stale.
   */
  async bookingFailed(eventId: string, buyer: BuyerClaim, error: unknown): Promise<void> {
    if (error instanceof AlreadyHoldingError) return;
    await this.lock.releaseGuard(eventId, buyer.userId, buyer.orderId);
  }

  private async isStale(orderId: string): Promise<boolean> {
    const [order]: { status: string }[] = await this.dataSource.query(
      `SELECT status FROM orders WHERE id = $1`,
      [orderId],
    );
    if (order) return order.status !== 'pending';
    return Date.now() - createdAtOf(orderId) > IN_FLIGHT_MAX_MS;
  }
}

function settle(): void {}

/** The creation time a version 7 UUID carries in its first 48 bits (ms). */
function createdAtOf(uuid: string): number {
  return parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16);
}
