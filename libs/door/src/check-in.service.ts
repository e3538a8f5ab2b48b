import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Page } from '@app/http';
import { EventCatalog, EventNotFoundError } from '@app/events';
import type { CheckInListQuery, CheckInView } from './door.dto';
import {
  AlreadyCheckedInError,
  RevokedTicketError,
  UnknownCodeError,
  WrongEventError,
} from './door.errors';
import { TicketSigningKeys } from './ticket-signing-keys';

interface CheckInRow {
  ticketId: string;
  label: string;
  ticketTypeName: string;
  orderId: string;
  checkedInAt: Date;
  byId: string;
  byName: string;
}

const toView = ({ byId, byName, ...row }: CheckInRow): CheckInView => ({
  ...row,
  by: { id: byId, name: byName },
});

/** The door: admitting a ticket once, and what door staff may read. */
@Injectable()
export class CheckInService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly keys: TicketSigningKeys,
    private readonly events: EventCatalog,
  ) {}

  /**
   * Admits the ticket of a code at most once. One conditional INSERT decides: it adds the
   * check-in only while the ticket is still sold to the code's order, the order confirmed
   * and the event the one at this door, and the check_ins primary key lets exactly one of
   * any number of simultaneous scans insert. Everyone else reads the winner's time.
   */
  async checkIn(eventId: string, code: string, staffId: string): Promise<CheckInView> {
    const claims = this.keys.verify(code);
    if (!claims) throw new UnknownCodeError();
    if (claims.eventId !== eventId) throw new WrongEventError();

    const [admitted]: CheckInRow[] = await this.dataSource.query(
      `WITH admitted AS (
         INSERT INTO check_ins (ticket_id, event_id, order_id, checked_in_by)
         SELECT t.id, o.event_id, o.id, $4
         FROM tickets t JOIN orders o ON o.id = t.order_id
         WHERE t.id = $1 AND t.status = 'sold' AND o.id = $3 AND o.status = 'confirmed'
           AND o.event_id = $2
         ON CONFLICT (ticket_id) DO NOTHING
         RETURNING ticket_id, order_id, checked_in_at, checked_in_by
       )
       SELECT a.ticket_id AS "ticketId", oi.label, tt.name AS "ticketTypeName",
              a.order_id AS "orderId", a.checked_in_at AS "checkedInAt",
              u.id AS "byId", u.name AS "byName"
       FROM admitted a
       JOIN order_items oi ON oi.order_id = a.order_id AND oi.ticket_id = a.ticket_id
       JOIN ticket_types tt ON tt.id = oi.ticket_type_id
       JOIN users u ON u.id = a.checked_in_by`,
      [claims.ticketId, claims.eventId, claims.orderId, staffId],
    );
    if (admitted) return toView(admitted);

    // Nothing inserted: a conflicting scan has committed by now (the insert waited for it).
    const [earlier]: { checkedInAt: Date }[] = await this.dataSource.query(
      `SELECT checked_in_at AS "checkedInAt" FROM check_ins WHERE ticket_id = $1 AND order_id = $2`,
      [claims.ticketId, claims.orderId],
    );
    if (earlier) throw new AlreadyCheckedInError(earlier.checkedInAt);
    throw new RevokedTicketError();
  }

  async list(eventId: string, query: CheckInListQuery): Promise<Page<CheckInView>> {
    await this.requireEvent(eventId);
    const rows: CheckInRow[] = await this.dataSource.query(
      `SELECT ci.ticket_id AS "ticketId", oi.label, tt.name AS "ticketTypeName",
              ci.order_id AS "orderId", ci.checked_in_at AS "checkedInAt",
              u.id AS "byId", u.name AS "byName"
       FROM check_ins ci
       JOIN order_items oi ON oi.order_id = ci.order_id AND oi.ticket_id = ci.ticket_id
       JOIN ticket_types tt ON tt.id = oi.ticket_type_id
       JOIN users u ON u.id = ci.checked_in_by
       WHERE ci.event_id = $1
       ORDER BY ci.checked_in_at DESC, ci.ticket_id
       LIMIT $2 OFFSET $3`,
      [eventId, query.pageSize, query.offset],
    );
    const [{ total }]: { total: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS total FROM check_ins WHERE event_id = $1`,
      [eventId],
    );
    return { items: rows.map(toView), page: query.page, pageSize: query.pageSize, total };
  }

  /**
   * Codes that once admitted and no longer do: the tickets of orders that were confirmed
   * (their codes were issued) and later refunded or cancelled. Offline scanners load this
   * list with the public keys.
   */
  async revokedCodes(eventId: string): Promise<string[]> {
    await this.requireEvent(eventId);
    const rows: { ticketId: string; orderId: string }[] = await this.dataSource.query(
      `SELECT oi.ticket_id AS "ticketId", o.id AS "orderId"
       FROM orders o JOIN order_items oi ON oi.order_id = o.id
       WHERE o.event_id = $1 AND o.confirmed_at IS NOT NULL AND o.status <> 'confirmed'
       ORDER BY o.id, oi.ticket_id`,
      [eventId],
    );
    return rows.map(({ ticketId, orderId }) => this.keys.codeOf({ ticketId, eventId, orderId }));
  }

  private async requireEvent(eventId: string): Promise<void> {
    if (!(await this.events.get(eventId))) throw new EventNotFoundError();
  }
}
