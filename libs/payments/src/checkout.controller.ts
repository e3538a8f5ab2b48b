import { Controller, Get, Header, Param, ParseUUIDPipe, Query, Redirect } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { ApiProblems } from '@app/common';
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
  @ApiResponse({
    status: 303,
    description: 'To the checkout session (created on the first visit, then reused)',
    headers: { Location: { schema: { type: 'string', format: 'uri' } } },
  })
  @ApiProblems(400, 404, 409, 502, 503)
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
  @ApiOkResponse({ description: 'A short page for the buyer', type: String })
  @ApiProblems(400)
  returnPage(@Param() params: ReturnPageParams, @Query() query: ReturnPageQuery): string {
    return renderReturnPage(params.outcome, query.orderId);
  }
}
