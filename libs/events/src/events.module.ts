import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TicketsModule } from '@app/tickets';
import { EventCatalog } from './event-catalog';
import { Event, TicketType } from './event.entity';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

@Module({
  imports: [TypeOrmModule.forFeature([Event, TicketType]), TicketsModule],
  controllers: [EventsController],
  providers: [EventsService, EventCatalog],
  exports: [EventCatalog],
})
export class EventsModule {}
