import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AuthModule } from '@app/auth';
import { OutboxModule } from '@app/outbox';
import { TicketsModule } from '@app/tickets';
import { AvailabilityBroadcastConsumer } from './availability-broadcast.consumer';
import { AvailabilityGateway } from './availability.gateway';

@Module({
  imports: [AuthModule, JwtModule.register({}), OutboxModule, TicketsModule],
  providers: [AvailabilityGateway, AvailabilityBroadcastConsumer],
  exports: [AvailabilityGateway],
})
export class RealtimeModule {}
