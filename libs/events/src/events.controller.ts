import { Body, Controller, Get, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public, Roles } from '@app/auth';
import { ApiProblems, type Page } from '@app/common';
import {
  CreateEventDto,
  EventListQuery,
  EventPage,
  EventView,
  TicketListQuery,
  TicketPage,
  TicketTypeInput,
  TicketView,
  UpdateEventDto,
  UpdateTicketTypeDto,
} from './events.dto';
import { EventsService } from './events.service';

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post()
  @Roles('admin')
  @ApiBearerAuth()
  @ApiCreatedResponse({ type: EventView })
  @ApiProblems(400, 401, 403)
  create(@Body() body: CreateEventDto): Promise<EventView> {
    return this.events.create(body);
  }

  @Get()
  @Public()
  @ApiOkResponse({ type: EventPage })
  @ApiProblems(400)
  list(@Query() query: EventListQuery): Promise<Page<EventView>> {
    return this.events.list(query);
  }

  @Get(':id')
  @Public()
  @ApiOkResponse({ type: EventView })
  @ApiProblems(400, 404)
  get(@Param('id', ParseUUIDPipe) id: string): Promise<EventView> {
    return this.events.get(id);
  }

  @Patch(':id')
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOkResponse({ type: EventView })
  @ApiProblems(400, 401, 403, 404, 409)
  update(@Param('id', ParseUUIDPipe) id: string, @Body() body: UpdateEventDto): Promise<EventView> {
    return this.events.update(id, body);
  }

  @Post(':id/ticket-types')
  @Roles('admin')
  @ApiBearerAuth()
  @ApiCreatedResponse({ type: EventView })
  @ApiProblems(400, 401, 403, 404, 409)
  addTicketType(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: TicketTypeInput,
  ): Promise<EventView> {
    return this.events.addTicketType(id, body);
  }

  @Patch(':id/ticket-types/:typeId')
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOkResponse({ type: EventView })
  @ApiProblems(400, 401, 403, 404, 409)
  updateTicketType(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('typeId', ParseUUIDPipe) typeId: string,
    @Body() body: UpdateTicketTypeDto,
  ): Promise<EventView> {
    return this.events.updateTicketType(id, typeId, body);
  }

  @Get(':id/tickets')
  @Public()
  @ApiOkResponse({ type: TicketPage })
  @ApiProblems(400, 404)
  listTickets(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: TicketListQuery,
  ): Promise<Page<TicketView>> {
    return this.events.listTickets(id, query);
  }
}
