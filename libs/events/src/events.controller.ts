import {
  Body,
  Controller,
  Get,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Roles } from '@app/auth';
import type { FastifyRequest } from 'fastify';
import { allowLongRequest, ApiProblems, Public, type Page } from '@app/http';
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
import { CREATE_EVENT_EXAMPLE, EVENT_EXAMPLE } from './events.examples';
import { EventsService } from './events.service';

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post()
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Create an event',
    description:
      'Admin only. Creates the event with its ticket types and issues every ticket (up to 1,000,000 per type, 20 types).',
  })
  @ApiBody({ type: CreateEventDto, examples: { springTour: { value: CREATE_EVENT_EXAMPLE } } })
  @ApiCreatedResponse({ type: EventView, example: EVENT_EXAMPLE })
  @ApiProblems(400, 401, 403)
  create(@Body() body: CreateEventDto, @Req() request: FastifyRequest): Promise<EventView> {
    allowLongRequest(request);
    return this.events.create(body);
  }

  @Get()
  @Public()
  @ApiOperation({
    summary: 'List upcoming events',
    description: 'Soonest first; `from` defaults to now. `q` matches the name or the venue.',
  })
  @ApiOkResponse({ type: EventPage })
  @ApiProblems(400)
  list(@Query() query: EventListQuery): Promise<Page<EventView>> {
    return this.events.list(query);
  }

  @Get(':id')
  @Public()
  @ApiOperation({
    summary: 'Get an event',
    description: 'With live available, locked and sold counts per ticket type.',
  })
  @ApiOkResponse({ type: EventView, example: EVENT_EXAMPLE })
  @ApiProblems(400, 404)
  get(@Param('id', ParseUUIDPipe) id: string): Promise<EventView> {
    return this.events.get(id);
  }

  @Patch(':id')
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Change an event',
    description:
      'Admin only. Any subset of the scalar fields; `status: cancelled` stops the sale at once.',
  })
  @ApiOkResponse({ type: EventView })
  @ApiProblems(400, 401, 403, 404, 409)
  update(@Param('id', ParseUUIDPipe) id: string, @Body() body: UpdateEventDto): Promise<EventView> {
    return this.events.update(id, body);
  }

  @Post(':id/ticket-types')
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Add a ticket type',
    description: 'Admin only. Issues its tickets and answers the whole event.',
  })
  @ApiCreatedResponse({ type: EventView })
  @ApiProblems(400, 401, 403, 404, 409)
  addTicketType(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: TicketTypeInput,
    @Req() request: FastifyRequest,
  ): Promise<EventView> {
    allowLongRequest(request);
    return this.events.addTicketType(id, body);
  }

  @Patch(':id/ticket-types/:typeId')
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Change a ticket type',
    description:
      'Admin only. The quantity may grow, or shrink down to its sold + locked count (409 below that).',
  })
  @ApiOkResponse({ type: EventView })
  @ApiProblems(400, 401, 403, 404, 409)
  updateTicketType(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('typeId', ParseUUIDPipe) typeId: string,
    @Body() body: UpdateTicketTypeDto,
    @Req() request: FastifyRequest,
  ): Promise<EventView> {
    allowLongRequest(request);
    return this.events.updateTicketType(id, typeId, body);
  }

  @Get(':id/tickets')
  @Public()
  @ApiOperation({
    summary: "List an event's tickets",
    description: 'Filter by status and ticket type; ids to book explicit seats with.',
  })
  @ApiOkResponse({ type: TicketPage })
  @ApiProblems(400, 404)
  listTickets(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: TicketListQuery,
  ): Promise<Page<TicketView>> {
    return this.events.listTickets(id, query);
  }
}
