import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { toBuffer as qrCodePng } from 'qrcode';
import { DataSource } from 'typeorm';
import { SERVER_TIME_ZONE } from '@app/common';
import type { Environment } from '@app/config';
import { ETicketsService } from '@app/door';
import { CheckoutLinks } from '@app/orders';
import { calendarEntry } from './calendar-entry';
import type { OutgoingMail } from './mail-transport';
import {
  eventCancelledMail,
  holdExpiredMail,
  orderConfirmedMail,
  paymentFailedMail,
  refundedMail,
  waitlistOfferMail,
  type MailContent,
  type OrderMailContext,
} from './mail-templates';
import type { OrderMailKind } from './order-mail-kind';

/** The event has no end time in the catalogue; calendars get a block this long. */
const CALENDAR_DURATION_MINUTES = 180;

interface OrderRow {
  id: string;
  eventId: string;
  status: string;
  quantity: number;
  totalAmount: string;
  currency: string;
  expiresAt: Date;
  buyerName: string;
  buyerEmail: string;
  eventName: string;
  venue: string;
  startsAt: Date;
}

/**
 * Builds the mail of a kind for an order from what the database says when it is sent, or
 * null when it no longer makes sense (an offer that has ended, a confirmation of an order
 * refunded since).
 */
@Injectable()
export class OrderMails {
  private readonly shopName: string;
  private readonly from: string;
  private readonly publicUrl: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly links: CheckoutLinks,
    private readonly eTickets: ETicketsService,
    config: ConfigService<Environment, true>,
  ) {
    this.shopName = config.get('SHOP_NAME', { infer: true });
    const from = config.get('MAIL_FROM', { infer: true });
    this.from = from.includes('<') ? from : `${JSON.stringify(this.shopName)} <${from}>`;
    this.publicUrl = config.get('publicUrl', { infer: true });
  }

  async compose(orderId: string, kind: OrderMailKind): Promise<OutgoingMail | null> {
    const [order]: OrderRow[] = await this.dataSource.query(
      `SELECT o.id, o.event_id AS "eventId", o.status, o.quantity, o.total_amount AS "totalAmount", o.currency,
              o.expires_at AS "expiresAt", u.name AS "buyerName", u.email AS "buyerEmail",
              e.name AS "eventName", e.venue, e.starts_at AS "startsAt"
       FROM orders o JOIN users u ON u.id = o.user_id JOIN events e ON e.id = o.event_id
       WHERE o.id = $1`,
      [orderId],
    );
    if (!order) return null;
    const items: OrderMailContext['items'] = await this.dataSource.query(
      `SELECT tt.name AS "ticketTypeName", oi.label, oi.price
       FROM order_items oi JOIN ticket_types tt ON tt.id = oi.ticket_type_id
       WHERE oi.order_id = $1 ORDER BY tt.position, oi.label`,
      [orderId],
    );
    const context: OrderMailContext = {
      shopName: this.shopName,
      timeZone: SERVER_TIME_ZONE,
      buyer: { name: order.buyerName, email: order.buyerEmail },
      order: {
        id: order.id,
        quantity: order.quantity,
        totalAmount: Number(order.totalAmount),
        currency: order.currency,
      },
      event: { name: order.eventName, venue: order.venue, startsAt: order.startsAt },
      items,
    };
    const envelope = { from: this.from, to: { name: order.buyerName, address: order.buyerEmail } };
    switch (kind) {
      case 'confirmed':
        if (order.status !== 'confirmed') return null;
        return this.confirmation(order, context, envelope);
      case 'payment_failed':
        return { ...envelope, ...paymentFailedMail(context) };
      case 'hold_expired':
        return { ...envelope, ...holdExpiredMail(context) };
      case 'refunded':
        return { ...envelope, ...refundedMail(context) };
      case 'event_cancelled':
        return {
          ...envelope,
          ...eventCancelledMail(context, ['confirmed', 'refunded'].includes(order.status)),
        };
      case 'waitlist_offer':
        if (order.status !== 'pending' || order.expiresAt.getTime() <= Date.now()) return null;
        return {
          ...envelope,
          ...waitlistOfferMail(context, {
            checkoutUrl: this.links.urlFor(order.id, order.expiresAt),
            expiresAt: order.expiresAt,
          }),
        };
    }
  }

  /** The tickets as the PDF, their QR codes inline (by Content-ID), and the calendar entry. */
  private async confirmation(
    order: OrderRow,
    context: OrderMailContext,
    envelope: Pick<OutgoingMail, 'from' | 'to'>,
  ): Promise<OutgoingMail> {
    const tickets = await this.eTickets.issued(order);
    const codes = await Promise.all(
      tickets.map(async (ticket) => ({
        label: ticket.label,
        ticketTypeName: ticket.ticketTypeName,
        cid: `ticket-${ticket.id}@tickets`,
        png: await qrCodePng(ticket.code, { errorCorrectionLevel: 'M', margin: 2, width: 300 }),
      })),
    );
    const content: MailContent = orderConfirmedMail(context, codes);
    const ics = calendarEntry({
      uid: `order-${context.order.id}@${new URL(this.publicUrl).hostname}`,
      title: context.event.name,
      location: context.event.venue,
      startsAt: context.event.startsAt,
      durationMinutes: CALENDAR_DURATION_MINUTES,
      description: `${context.order.quantity} ticket(s), order ${context.order.id}. Bring the tickets attached to the confirmation mail.`,
      organizer: { name: this.shopName, email: addressOf(this.from) },
    });
    return {
      ...envelope,
      ...content,
      attachments: [
        ...(tickets.length > 0
          ? [
              {
                filename: 'tickets.pdf',
                content: await this.eTickets.render(order.id, tickets),
                contentType: 'application/pdf',
              },
            ]
          : []),
        {
          filename: 'event.ics',
          content: ics,
          contentType: 'text/calendar; charset=utf-8; method=PUBLISH',
        },
        ...codes.map((code) => ({
          filename: `${code.label}.png`,
          content: code.png,
          contentType: 'image/png',
          cid: code.cid,
          contentDisposition: 'inline' as const,
        })),
      ],
    };
  }
}

function addressOf(from: string): string {
  return /<([^>]+)>/.exec(from)?.[1] ?? from;
}
