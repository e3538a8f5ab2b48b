import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { OrdersModule } from '@app/orders';
import { OutboxModule } from '@app/outbox';
import { RealtimeModule } from '@app/realtime';
import { TicketsModule } from '@app/tickets';
import { PastEventWaitlistJob } from './past-event-waitlist.job';
import { WaitlistController } from './waitlist.controller';
import { WaitlistOfferConsumer } from './waitlist-offer.consumer';
import { WaitlistOffers } from './waitlist-offers';
import { WaitlistService } from './waitlist.service';

/** Exports WaitlistOffers, which the app binds as the tickets module's FreedTicketOffers. */
@Module({
  imports: [AuthModule, OrdersModule, OutboxModule, RealtimeModule, TicketsModule],
  controllers: [WaitlistController],
  providers: [PastEventWaitlistJob, WaitlistOfferConsumer, WaitlistOffers, WaitlistService],
  exports: [PastEventWaitlistJob, WaitlistOffers],
})
export class WaitlistModule {}
