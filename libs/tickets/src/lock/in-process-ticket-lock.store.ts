import { randomUUID } from 'node:crypto';
import { poolKey, type TicketPool } from '../ticket-pool';
import { type ClaimResult, type ClaimTicketsResult, TicketLockStore } from './ticket-lock.store';

interface Pool {
  free: Set<string>;
  lastChangeMs: number;
}

/**
 * The embedded mode's store: the same semantics as Redis inside one process. Every method
 * runs to completion without awaiting, which is what makes each one atomic here.
 */
export class InProcessTicketLockStore extends TicketLockStore {
  private readonly pools = new Map<string, Pool>();
  private readonly loading = new Map<string, string>();

  claim(pool: TicketPool, quantity: number): Promise<ClaimResult> {
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
    return Promise.resolve({ status: 'claimed', ticketIds });
  }

  claimTickets(claims: { pool: TicketPool; ticketIds: string[] }[]): Promise<ClaimTicketsResult> {
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
    return Promise.resolve({ status: 'claimed' });
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
