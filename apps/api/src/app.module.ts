import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AdminModule } from '@app/admin';
import { AuthModule } from '@app/auth';
import { AppConfigModule, type Environment } from '@app/config';
import { DatabaseModule } from '@app/database';
import { DoorModule } from '@app/door';
import { EventOrders, EventsModule } from '@app/events';
import { MetricsModule } from '@app/metrics';
import { NotificationsModule } from '@app/notifications';
import { OrderLifecycle, OrdersModule, PaidOrderRefund } from '@app/orders';
import { AvailabilityCounts, OutboxModule } from '@app/outbox';
import { OrderRefunds, PaymentsModule } from '@app/payments';
import { RealtimeModule } from '@app/realtime';
import { RedisModule } from '@app/redis';
import { EventAvailability, FreedTicketOffers, TicketsModule } from '@app/tickets';
import { WaitlistModule, WaitlistOffers } from '@app/waitlist';
import { HealthController } from './health/health.controller';

/**
 * Where a library needs what a library above it provides, it declares an abstract class and
 * the app binds it here, where the modules are composed: the dependency stays visible in one
 * place, and a module left out fails the start naming what is missing. Global only so that
 * each declaring module sees its binding; no library module is global for this.
 */
@Module({})
class AppBindingsModule {}

const APP_BINDINGS: DynamicModule = {
  module: AppBindingsModule,
  global: true,
  imports: [OrdersModule, PaymentsModule, TicketsModule, WaitlistModule],
  providers: [
    { provide: AvailabilityCounts, useExisting: EventAvailability },
    { provide: EventOrders, useExisting: OrderLifecycle },
    { provide: FreedTicketOffers, useExisting: WaitlistOffers },
    { provide: PaidOrderRefund, useExisting: OrderRefunds },
  ],
  exports: [AvailabilityCounts, EventOrders, FreedTicketOffers, PaidOrderRefund],
};

@Module({})
export class AppModule {
  static forRoot(environment: Environment): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(environment),
        DatabaseModule,
        RedisModule.forRoot(environment.REDIS_URL),
        TerminusModule,
        AuthModule,
        EventsModule,
        OrdersModule,
        PaymentsModule,
        DoorModule,
        OutboxModule,
        MetricsModule.forRoot(environment),
        RealtimeModule,
        AdminModule,
        WaitlistModule,
        NotificationsModule,
        APP_BINDINGS,
      ],
      controllers: [HealthController],
    };
  }
}
