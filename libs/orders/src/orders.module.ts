import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '@app/auth';
import { EventsModule } from '@app/events';
import { TicketsModule } from '@app/tickets';
import { UsersModule } from '@app/users';
import { BookingGuard } from './booking-guard';
import { BookingFastPath } from './booking-fast-path';
import { BookingService } from './booking.service';
import { CancelOrderService } from './cancel-order.service';
import { CheckoutLinks } from './checkout-links';
import { HoldBatcher } from './hold-batcher';
import { HoldExpiryJob } from './hold-expiry.job';
import { HoldRelease } from './hold-release';
import { IdempotentBookings } from './idempotent-bookings';
import { Order, OrderItem } from './order.entity';
import { OrderLifecycle } from './order-lifecycle';
import { OrderViews } from './order-views';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([Order, OrderItem]),
    AuthModule,
    EventsModule,
    TicketsModule,
    UsersModule,
  ],
  controllers: [OrdersController],
  providers: [
    BookingFastPath,
    BookingGuard,
    BookingService,
    CancelOrderService,
    CheckoutLinks,
    HoldBatcher,
    HoldExpiryJob,
    HoldRelease,
    IdempotentBookings,
    OrderLifecycle,
    OrderViews,
    OrdersService,
  ],
  exports: [CheckoutLinks, HoldExpiryJob, HoldRelease, OrderLifecycle, OrderViews, OrdersService],
})
export class OrdersModule {}
