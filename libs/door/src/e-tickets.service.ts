import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuthUser } from '@app/auth';
import { SERVER_TIME_ZONE } from '@app/common';
import { OrdersService } from '@app/orders';
import { TicketsNotIssuedError } from './door.errors';
import type { IssuedTicketView } from './door.dto';
import { renderTicketsPdf, type PrintedTicket } from './ticket-pdf';
import { TicketSigningKeys } from './ticket-signing-keys';

/** A confirmed order's admission tickets: their codes, and the PDF a buyer prints or shows. */
@Injectable()
export class ETicketsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly orders: OrdersService,
    private readonly keys: TicketSigningKeys,
  ) {}

  async list(orderId: string, caller: AuthUser): Promise<IssuedTicketView[]> {
    const order = await this.orders.findVisible(orderId, caller);
    if (order.status !== 'confirmed') throw new TicketsNotIssuedError();
    return this.issued(order);
  }

  /** The order's sold tickets with their codes, without an access check (the buyer's mail). */
  async issued(order: { id: string; eventId: string }): Promise<IssuedTicketView[]> {
    const rows: Omit<IssuedTicketView, 'code'>[] = await this.dataSource.query(
      `SELECT t.id, oi.label, oi.ticket_type_id AS "ticketTypeId", tt.name AS "ticketTypeName",
              ci.checked_in_at AS "checkedInAt"
       FROM tickets t
       JOIN order_items oi ON oi.order_id = t.order_id AND oi.ticket_id = t.id
       JOIN ticket_types tt ON tt.id = oi.ticket_type_id
       LEFT JOIN check_ins ci ON ci.ticket_id = t.id AND ci.order_id = t.order_id
       WHERE t.order_id = $1 AND t.status = 'sold'
       ORDER BY tt.position, t.serial`,
      [order.id],
    );
    return rows.map((row) => ({
      ...row,
      code: this.keys.codeOf({ ticketId: row.id, eventId: order.eventId, orderId: order.id }),
    }));
  }

  async pdf(orderId: string, caller: AuthUser): Promise<Buffer> {
    return this.render(orderId, await this.list(orderId, caller));
  }

  /** The PDF of these tickets of the order, one page each. */
  async render(orderId: string, tickets: PrintedTicket[]): Promise<Buffer> {
    const [event]: { name: string; venue: string; startsAt: Date }[] = await this.dataSource.query(
      `SELECT e.name, e.venue, e.starts_at AS "startsAt"
       FROM orders o JOIN events e ON e.id = o.event_id WHERE o.id = $1`,
      [orderId],
    );
    return renderTicketsPdf({ orderId, event, tickets }, SERVER_TIME_ZONE);
  }
}
