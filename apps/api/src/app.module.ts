import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AdminModule } from '@app/admin';
import { AuthModule } from '@app/auth';
import { AppConfigModule, type Environment } from '@app/config';
import { DatabaseModule } from '@app/database';
import { DoorModule } from '@app/door';
import { EventsModule } from '@app/events';
import { MetricsModule } from '@app/metrics';
import { NotificationsModule } from '@app/notifications';
import { OrdersModule } from '@app/orders';
import { OutboxModule } from '@app/outbox';
import { PaymentsModule } from '@app/payments';
import { RealtimeModule } from '@app/realtime';
import { RedisModule } from '@app/redis';
import { WaitlistModule } from '@app/waitlist';
import { HealthController } from './health/health.controller';

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
      ],
      controllers: [HealthController],
    };
  }
}
