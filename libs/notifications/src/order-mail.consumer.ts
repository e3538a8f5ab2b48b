import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { EMAIL_CONSUMER_GROUP, MessageBus, type MessageOf } from '@app/outbox';
import { MailDeliveryJob } from './mail-delivery.job';
import { MAIL_KIND_OF } from './order-mail-kind';
import { SentNotifications } from './sent-notifications';

/**
 * The buyer's mails from `payment_notifications` (group EMAIL_CONSUMER_GROUP): each message
 * claims its mail (once per order and kind, whatever is redelivered) and is acknowledged as
 * soon as the claim commits; the mail goes out right after, outside the handler, so a slow or failing mail
 * server never holds up the stream. What is not sent then, MailDeliveryJob retries.
 */
@Injectable()
export class OrderMailConsumer implements OnModuleInit {
  private readonly logger = new Logger(OrderMailConsumer.name);

  constructor(
    private readonly bus: MessageBus,
    private readonly claims: SentNotifications,
    private readonly delivery: MailDeliveryJob,
  ) {}

  onModuleInit(): void {
    this.bus.consume('payment_notifications', EMAIL_CONSUMER_GROUP, (message) =>
      this.handle(message),
    );
  }

  async handle(message: MessageOf<'payment_notifications'>): Promise<void> {
    const claim = await this.claims.claim(
      message.orderId,
      MAIL_KIND_OF[message.type],
      message.outboxId,
    );
    if (!claim) return;
    void this.delivery
      .sendNow(claim)
      .catch((error: unknown) =>
        this.logger.warn(
          `Mail ${claim.kind} for order ${claim.orderId} left for retry: ${String(error)}`,
        ),
      );
  }
}
