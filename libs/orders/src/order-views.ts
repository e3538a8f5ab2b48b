import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CheckoutLinks } from './checkout-links';
import type { Order } from './order.entity';
import type { OrderView } from './orders.dto';

/** Builds OrderView answers (tickets from order_items, the checkout link while pending). */
@Injectable()
export class OrderViews {
  constructor(
    private readonly dataSource: DataSource,
    private readonly links: CheckoutLinks,
  ) {}

  async of(orders: Order[]): Promise<OrderView[]> {
    if (orders.length === 0) return [];
    const items: { orderId: string; id: string; ticketTypeId: string; label: string }[] =
      await this.dataSource.query(
        `SELECT order_id AS "orderId", ticket_id AS id, ticket_type_id AS "ticketTypeId", label
         FROM order_items WHERE order_id = ANY($1::uuid[]) ORDER BY label`,
        [orders.map((order) => order.id)],
      );
    return orders.map((order) =>
      this.view(
        order,
        items
          .filter((item) => item.orderId === order.id)
          .map(({ id, ticketTypeId, label }) => ({ id, ticketTypeId, label })),
      ),
    );
  }

  view(order: Order, tickets: { id: string; ticketTypeId: string; label: string }[]): OrderView {
    return {
      id: order.id,
      status: order.status,
      eventId: order.eventId,
      userId: order.userId,
      tickets,
      quantity: order.quantity,
      totalAmount: order.totalAmount,
      currency: order.currency,
      expiresAt: order.expiresAt.toISOString(),
      checkoutUrl: order.status === 'pending' ? this.links.urlFor(order.id, order.expiresAt) : null,
      createdAt: order.createdAt.toISOString(),
      updatedAt: order.updatedAt.toISOString(),
    };
  }
}
