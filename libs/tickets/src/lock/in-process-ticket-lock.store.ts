import { randomUUID } from 'node:crypto';
import { poolKey, type TicketPool } from '../ticket-pool';
import {
  type BuyerClaim,
  type BuyerRefusal,
  type ClaimResult,
  type ClaimTicketsResult,
  RATE_WINDOW_MS,
  TicketLockStore,
} from './ticket-lock.store';

interface Pool {
  free: Set<string>;
  lastChangeMs: number;
}

/** A guard's order id, or a rate window's count, until `expiresAt` (ms). */
interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * The embedded mode's store: the same semantics as Redis inside one process. Every method
 * runs to completion without awaiting, which is what makes each one atomic here.
 */
export class InProcessTicketLockStore extends TicketLockStore {
  private readonly pools = new Map<string, Pool>();
  private readonly loading = new Map<string, string>();
  private readonly guards = new Map<string, Expiring<string>>();
  private readonly rates = new Map<string, Expiring<number>>();
  private lastSweepMs = 0;

  claim(pool: TicketPool, quantity: number, buyer: BuyerClaim): Promise<ClaimResult> {
    const refused = this.refuseBuyer(pool.eventId, buyer);
    if (refused) return Promise.resolve(refused);
    const entry = this.pools.get(poolKey(pool));
    if (!entry) return Promise.resolve({ status: 'not_loaded' });
    if (entry.free.size < quantity) {
      return Promise.resolve({ status: 'sold_out', available: entry.free.size });
    }
    const ticketIds: string[] = [];
    for (const id of entry.free) {
      if (ticketIds.length === quantity) break;
      ticketIds.push(id);
    }
    ticketIds.forEach((id) => entry.free.delete(id));
    entry.lastChangeMs = Date.now();
    this.setGuard(pool.eventId, buyer);
    return Promise.resolve({ status: 'claimed', ticketIds });
  }

  claimTickets(
    claims: { pool: TicketPool; ticketIds: string[] }[],
    buyer: BuyerClaim,
  ): Promise<ClaimTicketsResult> {
    const refused = this.refuseBuyer(claims[0].pool.eventId, buyer);
    if (refused) return Promise.resolve(refused);
    const entries = claims.map((claim) => this.pools.get(poolKey(claim.pool)));
    const missing = entries.findIndex((entry) => !entry);
    if (missing >= 0) return Promise.resolve({ status: 'not_loaded', pool: claims[missing].pool });
    const taken = claims.flatMap((claim, i) =>
      claim.ticketIds.filter((id) => !entries[i]!.free.has(id)),
    );
    if (taken.length > 0) return Promise.resolve({ status: 'unavailable', ticketIds: taken });
    claims.forEach((claim, i) => {
      claim.ticketIds.forEach((id) => entries[i]!.free.delete(id));
      entries[i]!.lastChangeMs = Date.now();
    });
    this.setGuard(claims[0].pool.eventId, buyer);
    return Promise.resolve({ status: 'claimed' });
  }

  releaseGuard(eventId: string, userId: string, orderId: string): Promise<void> {
    const key = `${eventId}:${userId}`;
    if (this.guards.get(key)?.value === orderId) this.guards.delete(key);
    return Promise.resolve();
  }

  /** The rate and the guard, as the Redis script checks them (see BuyerClaim). */
  private refuseBuyer(eventId: string, buyer: BuyerClaim): BuyerRefusal | undefined {
    const key = `${eventId}:${buyer.userId}`;
    const now = Date.now();
    this.sweep(now);
    if (buyer.ratePerMinute > 0) {
      const window = live(this.rates.get(key), now) ?? {
        value: 0,
        expiresAt: now + RATE_WINDOW_MS,
      };
      window.value++;
      this.rates.set(key, window);
      if (window.value > buyer.ratePerMinute)
        return { status: 'rate_limited', retryAfterMs: Math.max(window.expiresAt - now, 1) };
    }
    const holder = live(this.guards.get(key), now)?.value;
    if (holder !== undefined && holder !== buyer.orderId)
      return { status: 'held_by', orderId: holder };
    return undefined;
  }

  private setGuard(eventId: string, buyer: BuyerClaim): void {
    this.guards.set(`${eventId}:${buyer.userId}`, {
      value: buyer.orderId,
      expiresAt: Date.now() + buyer.guardTtlMs,
    });
  }

  /** Drops lapsed guards and rate windows now and then, as Redis's key expiry would. */
  private sweep(now: number): void {
    if (now - this.lastSweepMs < RATE_WINDOW_MS) return;
    this.lastSweepMs = now;
    for (const map of [this.guards, this.rates] as Map<string, Expiring<unknown>>[])
      for (const [key, entry] of map) if (!live(entry, now)) map.delete(key);
  }

  release(pool: TicketPool, ticketIds: string[]): Promise<void> {
    const entry = this.pools.get(poolKey(pool));
    if (entry) {
      ticketIds.forEach((id) => entry.free.add(id));
      entry.lastChangeMs = Date.now();
    }
    return Promise.resolve();
  }

  remove(pool: TicketPool, ticketIds: string[]): Promise<void> {
    const entry = this.pools.get(poolKey(pool));
    ticketIds.forEach((id) => entry?.free.delete(id));
    return Promise.resolve();
  }

  load(pool: TicketPool, ticketIds: string[]): Promise<void> {
    this.pools.set(poolKey(pool), { free: new Set(ticketIds), lastChangeMs: Date.now() });
    return Promise.resolve();
  }

  inspect(pool: TicketPool): Promise<{ size: number; lastChangeMs: number } | null> {
    const entry = this.pools.get(poolKey(pool));
    return Promise.resolve(
      entry ? { size: entry.free.size, lastChangeMs: entry.lastChangeMs } : null,
    );
  }

  tryLockLoading(pool: TicketPool): Promise<string | null> {
    if (this.loading.has(poolKey(pool))) return Promise.resolve(null);
    const token = randomUUID();
    this.loading.set(poolKey(pool), token);
    return Promise.resolve(token);
  }

  unlockLoading(pool: TicketPool, token: string): Promise<void> {
    if (this.loading.get(poolKey(pool)) === token) this.loading.delete(poolKey(pool));
    return Promise.resolve();
  }
}

function live<T>(entry: Expiring<T> | undefined, now: number): Expiring<T> | undefined {
  return entry && entry.expiresAt > now ? entry : undefined;
}
