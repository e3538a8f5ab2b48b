import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import type { Environment } from '@app/config';
import { OrderLifecycle } from '@app/orders';
import type { FreedTicket, FreedTicketOffers } from '@app/tickets';

interface WaitingEntry {
  id: string;
  userId: string;
  eventId: string;
  quantity: number;
}

/**
 * Offers free tickets to the waitlist, first come first served per ticket type: the
 * earliest waiting entry whose quantity fits what is left gets those tickets held in a new
 * pending order for WAITLIST_OFFER_MINUTES (OrderLifecycle.holdForWaitlist), and becomes
 * `offered`. Run in the transaction that freed (or issued) the tickets, so no booking can
 * take them first; the lock store never learns the offered ids (TicketChanges.freed).
 * Entries are locked in queue order (never skipped because another release holds them: that
 * would break the order). A user who already holds a pending order for the event cannot get
 * a second one: their entry keeps its place and the next one is served.
 */
@Injectable()
export class WaitlistOffers implements FreedTicketOffers {
  private readonly offerMinutes: number;

  constructor(
    private readonly lifecycle: OrderLifecycle,
    config: ConfigService<Environment, true>,
  ) {
    this.offerMinutes = config.get('WAITLIST_OFFER_MINUTES', { infer: true });
  }

  /** Returns the offered ids. */
  async offer(manager: EntityManager, tickets: FreedTicket[]): Promise<Set<string>> {
    const offered = new Set<string>();
    const byType = new Map<string, string[]>();
    for (const ticket of tickets) {
      const ids = byType.get(ticket.ticketTypeId);
      if (ids) ids.push(ticket.id);
      else byType.set(ticket.ticketTypeId, [ticket.id]);
    }
    for (const [ticketTypeId, ids] of byType) {
      let free = ids;
      const passedOver: string[] = [];
      while (free.length > 0) {
        // Only entries of an event still on sale: a cancelled or past event's tickets are
        // not sold to anyone.
        const [entry]: WaitingEntry[] = await manager.query(
          `SELECT w.id, w.user_id AS "userId", w.event_id AS "eventId", w.quantity
           FROM waitlist_entries w JOIN events e ON e.id = w.event_id
           WHERE w.ticket_type_id = $1 AND w.status = 'waiting' AND w.quantity <= $2
             AND w.id <> ALL($3::uuid[]) AND e.status = 'on_sale' AND e.starts_at > now()
           ORDER BY w.created_at, w.id
           LIMIT 1
           FOR UPDATE OF w`,
          [ticketTypeId, free.length, passedOver],
        );
        if (!entry) break;
        const share = free.slice(0, entry.quantity);
        if (await this.offerTo(manager, entry, share)) {
          share.forEach((id) => offered.add(id));
          free = free.slice(entry.quantity);
        } else {
          passedOver.push(entry.id);
        }
      }
    }
    return offered;
  }

  /** One entry's offer; false when the user already holds a pending order for the event. */
  private async offerTo(
    manager: EntityManager,
    entry: WaitingEntry,
    ticketIds: string[],
  ): Promise<boolean> {
    const orderId = await this.lifecycle.holdForWaitlist(manager, {
      userId: entry.userId,
      eventId: entry.eventId,
      ticketIds,
      expiresInMinutes: this.offerMinutes,
    });
    if (!orderId) return false;
    await manager.query(
      `UPDATE waitlist_entries SET status = 'offered', order_id = $2, updated_at = now()
       WHERE id = $1`,
      [entry.id, orderId],
    );
    return true;
  }
}
