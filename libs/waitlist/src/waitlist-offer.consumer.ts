import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CheckoutLinks } from '@app/orders';
import { MessageBus, WAITLIST_OFFER_SOCKET_CONSUMER_GROUP, type MessageOf } from '@app/outbox';
import { AvailabilityGateway } from '@app/realtime';

/** What a user's sockets get when tickets are offered to them (socket event `waitlist_offer`). */
export interface WaitlistOfferMessage {
  entryId: string;
  eventId: string;
  ticketTypeId: string;
  quantity: number;
  orderId: string;
  checkoutUrl: string;
  expiresAt: string;
}

/**
 * Tells the user's sockets (on every instance: the gateway's Redis adapter carries user
 * rooms) about a waitlist offer, from the `waitlist_offer` notification the offer wrote. One
 * consumer group, so one instance sends each; at least once (a socket message twice is
 * harmless). An offer already paid, expired or given up is not announced.
 */
@Injectable()
export class WaitlistOfferConsumer implements OnModuleInit {
  constructor(
    private readonly bus: MessageBus,
    private readonly gateway: AvailabilityGateway,
    private readonly dataSource: DataSource,
    private readonly links: CheckoutLinks,
  ) {}

  onModuleInit(): void {
    this.bus.consume('payment_notifications', WAITLIST_OFFER_SOCKET_CONSUMER_GROUP, (message) =>
      this.notify(message),
    );
  }

  private async notify(message: MessageOf<'payment_notifications'>): Promise<void> {
    if (message.type !== 'waitlist_offer') return;
    const [offer]: (Omit<WaitlistOfferMessage, 'checkoutUrl' | 'expiresAt'> & {
      expiresAt: Date;
    })[] = await this.dataSource.query(
      `SELECT w.id AS "entryId", w.event_id AS "eventId", w.ticket_type_id AS "ticketTypeId",
              w.quantity, o.id AS "orderId", o.expires_at AS "expiresAt"
       FROM waitlist_entries w JOIN orders o ON o.id = w.order_id
       WHERE w.order_id = $1 AND w.status = 'offered' AND o.status = 'pending'`,
      [message.orderId],
    );
    if (!offer) return;
    const payload: WaitlistOfferMessage = {
      ...offer,
      checkoutUrl: this.links.urlFor(offer.orderId, offer.expiresAt),
      expiresAt: offer.expiresAt.toISOString(),
    };
    this.gateway.notifyUser(message.userId, 'waitlist_offer', payload);
  }
}
