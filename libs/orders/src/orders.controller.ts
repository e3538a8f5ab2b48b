import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, type AuthUser } from '@app/auth';
import { ApiProblems, type Page } from '@app/http';
import { BookingService } from './booking.service';
import { CancelOrderService } from './cancel-order.service';
import { BookingDto, BookingView, OrderListQuery, OrderPage, OrderView } from './orders.dto';
import { InvalidIdempotencyKeyError } from './orders.errors';
import {
  BOOK_BY_IDS_EXAMPLE,
  BOOK_BY_QUANTITY_EXAMPLE,
  BOOKING_EXAMPLE,
  CONFIRMED_ORDER_EXAMPLE,
} from './orders.examples';
import { OrdersService } from './orders.service';

/** Marks the booking route for BookingFastPath. */
export const BOOKING_ROUTE = { fastPath: 'booking' };

@ApiTags('booking and orders')
@ApiBearerAuth()
@Controller()
export class OrdersController {
  constructor(
    private readonly booking: BookingService,
    private readonly orders: OrdersService,
    private readonly cancelOrder: CancelOrderService,
  ) {}

  @Post('events/:id/bookings')
  @RouteConfig(BOOKING_ROUTE)
  @ApiOperation({
    summary: 'Book tickets',
    description:
      'Holds a quantity of one ticket type, or explicit ticket ids (all or nothing), for `HOLD_SECONDS`, and answers at once with the pending order and its signed `checkoutUrl`: open it in a browser to pay. Sold out or taken → 409, and nothing is held.',
  })
  @ApiBody({
    type: BookingDto,
    examples: {
      quantity: { summary: 'A quantity of one ticket type', value: BOOK_BY_QUANTITY_EXAMPLE },
      ticketIds: { summary: 'Explicit tickets', value: BOOK_BY_IDS_EXAMPLE },
    },
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: '1..128 characters; a retry with the same key gets the same order',
  })
  @ApiCreatedResponse({ type: BookingView, example: BOOKING_EXAMPLE })
  @ApiProblems(400, 401, 404, 409, 503)
  async book(
    @Param('id', ParseUUIDPipe) eventId: string,
    @Body() body: BookingDto,
    @CurrentUser() caller: AuthUser,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<BookingView> {
    if (
      idempotencyKey !== undefined &&
      (idempotencyKey.length < 1 || idempotencyKey.length > 128)
    ) {
      throw new InvalidIdempotencyKeyError();
    }
    const what =
      body.ticketIds !== undefined
        ? { ticketIds: body.ticketIds }
        : { ticketTypeId: body.ticketTypeId!, quantity: body.quantity! };
    const order = await this.booking.book({ userId: caller.id, eventId, idempotencyKey, ...what });
    return { order, checkoutUrl: order.checkoutUrl! };
  }

  @Get('orders')
  @ApiOperation({
    summary: 'List my orders',
    description: "The caller's orders, newest first, optionally of one status.",
  })
  @ApiOkResponse({ type: OrderPage })
  @ApiProblems(400, 401)
  list(@Query() query: OrderListQuery, @CurrentUser() caller: AuthUser): Promise<Page<OrderView>> {
    return this.orders.listMine(caller.id, query);
  }

  @Get('orders/:id')
  @ApiOperation({
    summary: 'Get an order',
    description: "The owner's or an admin's; anyone else's is 404.",
  })
  @ApiOkResponse({ type: OrderView, example: CONFIRMED_ORDER_EXAMPLE })
  @ApiProblems(400, 401, 404)
  get(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() caller: AuthUser): Promise<OrderView> {
    return this.orders.get(id, caller);
  }

  @Post('orders/:id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel an order',
    description:
      'A pending order is cancelled at once; a confirmed one is refunded through the payment provider while the event is more than `REFUND_CUTOFF_HOURS` away (409 after). Owner or admin.',
  })
  @ApiOkResponse({ type: OrderView })
  @ApiProblems(400, 401, 404, 409, 502, 503)
  cancel(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentUser() caller: AuthUser,
  ): Promise<OrderView> {
    return this.cancelOrder.cancel(id, caller);
  }
}
