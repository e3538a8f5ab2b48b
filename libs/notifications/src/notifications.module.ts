import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Environment } from '@app/config';
import { DoorModule } from '@app/door';
import { OrdersModule } from '@app/orders';
import { OutboxModule } from '@app/outbox';
import { MailDeliveryJob } from './mail-delivery.job';
import { LocalMailTransport, MailTransport, SmtpMailTransport } from './mail-transport';
import { OrderMailConsumer } from './order-mail.consumer';
import { OrderMails } from './order-mails';
import { SentNotifications } from './sent-notifications';

/** SMTP_URL: the mail server; unset: the log, plus `.eml` files in embedded mode. */
export function createMailTransport(config: ConfigService<Environment, true>): MailTransport {
  const url = config.get('SMTP_URL', { infer: true });
  if (url) return new SmtpMailTransport(url);
  const embedded = !config.get('DATABASE_URL', { infer: true });
  return new LocalMailTransport(
    embedded ? join(config.get('DATA_DIR', { infer: true }), 'mail') : undefined,
  );
}

/** The buyer's emails about their orders, sent once per order state. */
@Module({
  imports: [DoorModule, OrdersModule, OutboxModule],
  providers: [
    { provide: MailTransport, inject: [ConfigService], useFactory: createMailTransport },
    MailDeliveryJob,
    OrderMailConsumer,
    OrderMails,
    SentNotifications,
  ],
  exports: [MailDeliveryJob, SentNotifications],
})
export class NotificationsModule {}
