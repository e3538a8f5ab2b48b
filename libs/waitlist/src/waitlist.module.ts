import { Global, Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { EventOrders } from '@app/events';
import { OrderLifecycle, OrdersModule } from '@app/orders';
import { OutboxModule } from '@app/outbox';
import { RealtimeModule } from '@app/realtime';
import { TicketsModule } from '@app/tickets';
import { PastEventWaitlistJob } from './past-event-waitlist.job';
import { WaitlistController } from './waitlist.controller';
import { WaitlistOfferNotifier } from './waitlist-offer.notifier';
import { WaitlistService } from './waitlist.service';

/**
 * Global only to provide EventOrders to the events module (event cancellation, grown ticket
 * types): the events module cannot import the orders module, which imports it.
 */
@Global()
@Module({
  imports: [AuthModule, OrdersModule, OutboxModule, RealtimeModule, TicketsModule],
  controllers: [WaitlistController],
  providers: [
    PastEventWaitlistJob,
    WaitlistOfferNotifier,
    WaitlistService,
    { provide: EventOrders, useExisting: OrderLifecycle },
  ],
  exports: [EventOrders, PastEventWaitlistJob],
})
export class WaitlistModule {}
