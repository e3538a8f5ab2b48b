import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Page } from '@app/http';
import { EventNotFoundError, TicketTypeNotFoundError } from '@app/events';
import { CheckoutLinks, OrderLifecycle } from '@app/orders';
import { TicketInventory, TicketTransactions, type TicketChanges } from '@app/tickets';
import type {
  JoinWaitlistDto,
  WaitlistEntryView,
  WaitlistListQuery,
  WaitlistStatus,
} from './waitlist.dto';
import {
  WaitlistEntryClosedError,
  WaitlistEntryNotFoundError,
  WaitlistEntryOpenError,
  WaitlistEventClosedError,
  WaitlistQuantityTooLargeError,
  WaitlistTicketsAvailableError,
} from './waitlist.errors';

interface EntryRow {
  id: string;
  eventId: string;
  ticketTypeId: string;
  quantity: number;
  status: WaitlistStatus;
  position: number | null;
  offerOrderId: string | null;
  offerExpiresAt: Date | null;
  createdAt: Date;
}

/** The entry with its queue position (earlier waiting entries of its type, plus one). */
const ENTRY_SQL = `
  SELECT w.id, w.event_id AS "eventId", w.ticket_type_id AS "ticketTypeId", w.quantity,
         w.status, w.created_at AS "createdAt",
         CASE WHEN w.status = 'waiting' THEN (
           SELECT count(*)::int + 1 FROM waitlist_entries q
           WHERE q.ticket_type_id = w.ticket_type_id AND q.status = 'waiting'
             AND (q.created_at, q.id) < (w.created_at, w.id)
         ) END AS position,
         o.id AS "offerOrderId", o.expires_at AS "offerExpiresAt"
  FROM waitlist_entries w
  LEFT JOIN orders o ON o.id = w.order_id AND w.status = 'offered' AND o.status = 'pending'`;

const UNIQUE_VIOLATION = '23505';

/**
 * Joining, listing and leaving the waitlist of a sold-out ticket type. Offers themselves
 * are made in the transaction that frees the tickets (WaitlistOffers).
 */
@Injectable()
export class WaitlistService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly inventory: TicketInventory,
    private readonly lifecycle: OrderLifecycle,
    private readonly tickets: TicketTransactions,
    private readonly links: CheckoutLinks,
  ) {}

  async join(userId: string, eventId: string, input: JoinWaitlistDto): Promise<WaitlistEntryView> {
    const [target]: {
      ticketTypeId: string | null;
      open: boolean;
      maxTicketsPerOrder: number;
    }[] = await this.dataSource.query(
      `SELECT tt.id AS "ticketTypeId", e.status = 'on_sale' AND e.starts_at > now() AS open,
              e.max_tickets_per_order AS "maxTicketsPerOrder"
       FROM events e LEFT JOIN ticket_types tt ON tt.event_id = e.id AND tt.id = $2
       WHERE e.id = $1`,
      [eventId, input.ticketTypeId],
    );
    if (!target) throw new EventNotFoundError();
    if (!target.ticketTypeId) throw new TicketTypeNotFoundError();
    if (!target.open) throw new WaitlistEventClosedError();
    if (input.quantity > target.maxTicketsPerOrder)
      throw new WaitlistQuantityTooLargeError(target.maxTicketsPerOrder);
    const { available } = (await this.inventory.counts([input.ticketTypeId])).get(
      input.ticketTypeId,
    ) ?? { available: 0 };
    if (available >= input.quantity) throw new WaitlistTicketsAvailableError(available);
    let id: string;
    try {
      [{ id }] = await this.dataSource.query(
        `INSERT INTO waitlist_entries (user_id, event_id, ticket_type_id, quantity)
         VALUES ($1, $2, $3, $4) RETURNING id`,
        [userId, eventId, input.ticketTypeId, input.quantity],
      );
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION)
        throw new WaitlistEntryOpenError();
      throw error;
    }
    const [entry] = await this.entries(`WHERE w.id = $1`, [id]);
    return entry;
  }

  async listMine(userId: string, query: WaitlistListQuery): Promise<Page<WaitlistEntryView>> {
    const items = await this.entries(
      `WHERE w.user_id = $1 ORDER BY w.created_at DESC, w.id DESC OFFSET $2 LIMIT $3`,
      [userId, query.offset, query.pageSize],
    );
    const [{ total }]: { total: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS total FROM waitlist_entries WHERE user_id = $1`,
      [userId],
    );
    return { items, page: query.page, pageSize: query.pageSize, total };
  }

  /**
   * Leaves the queue; an open offer is given up at once: its order is cancelled and its
   * tickets go to the next entry (in the same transaction), the rest to the public.
   * Leaving twice is fine; a fulfilled or expired entry cannot be left.
   */
  async leave(userId: string, entryId: string): Promise<void> {
    // The entry may become offered between the read and its lock: then read again, so the
    // offer's order is locked before the entry, as a payment confirming it does.
    let outcome: 'left' | 'changed';
    do {
      outcome = await this.tickets.run((manager, changes) =>
        this.leaveOnce(manager, changes, userId, entryId),
      );
    } while (outcome === 'changed');
  }

  private async leaveOnce(
    manager: EntityManager,
    changes: TicketChanges,
    userId: string,
    entryId: string,
  ): Promise<'left' | 'changed'> {
    const [seen]: { status: WaitlistStatus; orderId: string | null }[] = await manager.query(
      `SELECT status, order_id AS "orderId" FROM waitlist_entries WHERE id = $1 AND user_id = $2`,
      [entryId, userId],
    );
    if (!seen) throw new WaitlistEntryNotFoundError();
    if (seen.status === 'offered')
      await manager.query(`SELECT 1 FROM orders WHERE id = $1 FOR UPDATE`, [seen.orderId]);
    const [entry]: { status: WaitlistStatus; orderId: string | null }[] = await manager.query(
      `SELECT status, order_id AS "orderId" FROM waitlist_entries WHERE id = $1 FOR UPDATE`,
      [entryId],
    );
    if (entry.status === 'offered' && seen.status !== 'offered') return 'changed';
    if (entry.status === 'left') return 'left';
    if (entry.status !== 'waiting' && entry.status !== 'offered')
      throw new WaitlistEntryClosedError(entry.status);
    await manager.query(
      `UPDATE waitlist_entries SET status = 'left', updated_at = now() WHERE id = $1`,
      [entryId],
    );
    if (entry.status === 'offered')
      await changes.freed(
        await this.lifecycle.releasePending(manager, [entry.orderId!], 'cancelled'),
      );
    return 'left';
  }

  private async entries(where: string, params: unknown[]): Promise<WaitlistEntryView[]> {
    const rows: EntryRow[] = await this.dataSource.query(`${ENTRY_SQL} ${where}`, params);
    return rows.map((row) => ({
      id: row.id,
      eventId: row.eventId,
      ticketTypeId: row.ticketTypeId,
      quantity: row.quantity,
      status: row.status,
      position: row.position,
      offer:
        row.offerOrderId && row.offerExpiresAt
          ? {
              orderId: row.offerOrderId,
              checkoutUrl: this.links.urlFor(row.offerOrderId, row.offerExpiresAt),
              expiresAt: row.offerExpiresAt,
            }
          : null,
      createdAt: row.createdAt,
    }));
  }
}
