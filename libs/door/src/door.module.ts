import { Module } from '@nestjs/common';
import { EventsModule } from '@app/events';
import { OrdersModule } from '@app/orders';
import { CheckInService } from './check-in.service';
import { DoorController } from './door.controller';
import { ETicketsService } from './e-tickets.service';
import { TicketSigningKeys } from './ticket-signing-keys';

/** After the sale: e-tickets with signed codes, and the door that admits each once. */
@Module({
  imports: [EventsModule, OrdersModule],
  controllers: [DoorController],
  providers: [CheckInService, ETicketsService, TicketSigningKeys],
  exports: [ETicketsService, TicketSigningKeys],
})
export class DoorModule {}
