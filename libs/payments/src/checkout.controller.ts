import { Controller, Get, Header, Param, ParseUUIDPipe, Query, Redirect } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiOtherProblems, ApiProblems, Public } from '@app/http';
import { CheckoutService } from './checkout.service';
import { renderReturnPage } from './payment-pages';
import { CheckoutLinkQuery, ReturnPageParams, ReturnPageQuery } from './payments.dto';

@ApiTags('payments')
@Controller('payments')
export class CheckoutController {
  constructor(private readonly checkout: CheckoutService) {}

  @Get('checkout/:orderId')
  @Public()
  @Redirect(undefined, 303)
  @ApiOperation({
    summary: 'Follow a checkout link',
    description:
      "The booking's signed `checkoutUrl`, opened in the buyer's browser: creates the payment provider's checkout session on the first visit (then reuses it) and redirects there.",
  })
  @ApiResponse({
    status: 303,
    description: 'To the checkout session (created on the first visit, then reused)',
    headers: { Location: { schema: { type: 'string', format: 'uri' } } },
  })
  @ApiProblems(400, 404, 409, 502, 503)
  @ApiOtherProblems()
  async follow(
    @Param('orderId', ParseUUIDPipe) orderId: string,
    @Query() query: CheckoutLinkQuery,
  ): Promise<{ url: string }> {
    return { url: await this.checkout.sessionUrl(orderId, query.token) };
  }

  /** Where the payment provider sends the buyer back (success_url / cancel_url). */
  @Get('return/:outcome')
  @Public()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @ApiProduces('text/html')
  @ApiOperation({
    summary: 'Payment return page',
    description:
      'Where the payment provider sends the buyer back after paying (`success`) or giving up (`cancel`).',
  })
  @ApiOkResponse({ description: 'A short page for the buyer', type: String })
  @ApiProblems(400)
  returnPage(@Param() params: ReturnPageParams, @Query() query: ReturnPageQuery): string {
    return renderReturnPage(params.outcome, query.orderId);
  }
}
