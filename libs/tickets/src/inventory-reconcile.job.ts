import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { IntervalJob } from '@app/common';
import { TicketLockService } from './lock/ticket-lock.service';
import { TicketInventory } from './ticket-inventory';

const EVERY_MS = 15_000;
/** Claims and releases are in flight for milliseconds; a pool untouched this long is settled. */
const QUIET_MS = 10_000;

/**
 * Puts the lock store back in line with PostgreSQL when they disagree on a settled pool:
 * ids lost by a crash between a claim and its commit, or a release that could not reach
 * Redis, come back; ids the store still has but PostgreSQL gave away go. A pool the store
 * lost (Redis flushed or restarted empty) is loaded again in the background, so no buyer
 * waits for a big pool to load. Reloading is always safe because PostgreSQL confirms every
 * claimed id before it is held.
 */
@Injectable()
export class InventoryReconcileJob extends IntervalJob {
  constructor(
    private readonly dataSource: DataSource,
    private readonly inventory: TicketInventory,
    private readonly lock: TicketLockService,
  ) {
    super('Inventory reconcile', EVERY_MS);
  }

  /** Returns how many pools were reloaded. */
  async run({ quietMs = QUIET_MS }: { quietMs?: number } = {}): Promise<number> {
    const pools: { ticketTypeId: string; eventId: string; startsAt: Date }[] =
      await this.dataSource.query(
        `SELECT tt.id AS "ticketTypeId", tt.event_id AS "eventId", e.starts_at AS "startsAt"
       FROM ticket_types tt JOIN events e ON e.id = tt.event_id
       WHERE e.status = 'on_sale' AND e.starts_at > now()`,
      );
    if (pools.length === 0) return 0;
    const counts = await this.inventory.counts(pools.map((pool) => pool.ticketTypeId));
    let reloaded = 0;
    for (const pool of pools) {
      const state = await this.lock.inspect(pool);
      const available = counts.get(pool.ticketTypeId)?.available ?? 0;
      if (state === null) {
        this.logger.warn(`Lock store lost ticket type ${pool.ticketTypeId}: reloading`);
      } else if (state.size === available || Date.now() - state.lastChangeMs < quietMs) {
        continue;
      } else {
        this.logger.warn(
          `Lock store has ${state.size} free ticket(s) of type ${pool.ticketTypeId}, PostgreSQL ${available}: reloading`,
        );
      }
      await this.lock.load(pool, pool.startsAt);
      reloaded += 1;
    }
    return reloaded;
  }
}
