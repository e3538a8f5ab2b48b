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
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, type AuthUser } from '@app/auth';
import { ApiProblems, type Page } from '@app/common';
import { BookingService } from './booking.service';
import { CancelOrderService } from './cancel-order.service';
import { BookingDto, BookingView, OrderListQuery, OrderPage, OrderView } from './orders.dto';
import { InvalidIdempotencyKeyError } from './orders.errors';
import { OrdersService } from './orders.service';

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
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: '1..128 characters; a retry with the same key gets the same order',
  })
  @ApiCreatedResponse({ type: BookingView })
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
  @ApiOkResponse({ type: OrderPage })
  @ApiProblems(400, 401)
  list(@Query() query: OrderListQuery, @CurrentUser() caller: AuthUser): Promise<Page<OrderView>> {
    return this.orders.listMine(caller.id, query);
  }

  @Get('orders/:id')
  @ApiOkResponse({ type: OrderView })
  @ApiProblems(400, 401, 404)
  get(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() caller: AuthUser): Promise<OrderView> {
    return this.orders.get(id, caller);
  }

  @Post('orders/:id/cancel')
  @HttpCode(200)
  @ApiOkResponse({ type: OrderView })
  @ApiProblems(400, 401, 404, 409, 502, 503)
  cancel(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentUser() caller: AuthUser,
  ): Promise<OrderView> {
    return this.cancelOrder.cancel(id, caller);
  }
}
