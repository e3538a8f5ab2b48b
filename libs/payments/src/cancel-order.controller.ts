import { Controller, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser, type AuthUser } from '@app/auth';
import { ApiProblems } from '@app/common';
import { OrderView } from '@app/orders';
import { CancelOrderService } from './cancel-order.service';

/** Lives with payments because cancelling a paid order refunds it. */
@ApiTags('booking and orders')
@ApiBearerAuth()
@Controller('orders')
export class CancelOrderController {
  constructor(private readonly cancelOrder: CancelOrderService) {}

  @Post(':id/cancel')
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
