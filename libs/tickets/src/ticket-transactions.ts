import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { FreedTicketOffers, type FreedTicket } from './freed-ticket-offers';
import { TicketLockService } from './lock/ticket-lock.service';
import { groupByPool } from './ticket-pool';

/** Tickets of one event that changed hands together (an order's, a ticket type's). */
export interface EventTickets {
  eventId: string;
  tickets: FreedTicket[];
}

type PooledTicket = FreedTicket & { eventId: string };

function pooled(groups: EventTickets[]): PooledTicket[] {
  return groups.flatMap((group) =>
    group.tickets.map((ticket) => ({ ...ticket, eventId: group.eventId })),
  );
}

/** What one transaction did to the free tickets, told to the lock store once it commits. */
export class TicketChanges {
  private readonly released: PooledTicket[] = [];
  private readonly removed: PooledTicket[] = [];

  constructor(
    private readonly manager: EntityManager,
    private readonly offers: FreedTicketOffers,
  ) {}

  /**
   * These tickets became available in this transaction (freed or issued): whoever waits for
   * them gets them first (FreedTicketOffers, in this transaction), the rest go back to the
   * lock store after the commit. Returns the groups without the offered tickets.
   */
  async freed<T extends EventTickets>(groups: T[]): Promise<T[]> {
    const offered = await this.offers.offer(
      this.manager,
      groups.flatMap((group) => group.tickets),
    );
    const rest = groups.map((group) => ({
      ...group,
      tickets: group.tickets.filter((ticket) => !offered.has(ticket.id)),
    }));
    this.released.push(...pooled(rest));
    return rest;
  }

  /**
   * These tickets stopped being free in this transaction without a claim from the lock store
   * (taken back by a late payment, deleted by a shrunk type): it drops them after the commit.
   */
  taken(groups: EventTickets[]): void {
    this.removed.push(...pooled(groups));
  }

  /** Called once the transaction has committed. */
  async tellLockStore(lock: TicketLockService): Promise<void> {
    for (const { pool, ticketIds } of groupByPool(this.released))
      await lock.release(pool, ticketIds);
    for (const { pool, ticketIds } of groupByPool(this.removed)) await lock.remove(pool, ticketIds);
  }
}

/**
 * The one way code outside booking changes which tickets are free: a transaction, then the
 * lock store told what it freed and took — only after the commit, since an id back in the
 * store before its row is free would be claimed and then refused by PostgreSQL, and never
 * when it rolls back. A lost update is harmless: InventoryReconcileJob repairs the store.
 */
@Injectable()
export class TicketTransactions {
  constructor(
    private readonly dataSource: DataSource,
    private readonly offers: FreedTicketOffers,
    private readonly lock: TicketLockService,
  ) {}

  async run<T>(work: (manager: EntityManager, changes: TicketChanges) => Promise<T>): Promise<T> {
    let changes: TicketChanges | undefined;
    const result = await this.dataSource.transaction((manager) => {
      changes = new TicketChanges(manager, this.offers);
      return work(manager, changes);
    });
    await changes!.tellLockStore(this.lock);
    return result;
  }
}
