import { Controller, Get, Header, Param, Post, Redirect } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiOtherProblems, ApiProblems, Public } from '@app/http';
import { PaymentSimulator } from './payment-simulator';
import { SimulatorSessionParams } from './payments.dto';

const REDIRECT = {
  status: 303,
  description: 'To the success or cancel URL, after the signed event went through the webhook',
  headers: { Location: { schema: { type: 'string', format: 'uri' } } },
};

/** Local payments without Stripe (no STRIPE_SECRET_KEY); every route is 404 otherwise. */
@ApiTags('payments')
@Controller('payments/simulator')
@Public()
export class SimulatorController {
  constructor(private readonly simulator: PaymentSimulator) {}

  @Get(':sessionId')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @ApiProduces('text/html')
  @ApiOperation({
    summary: 'Simulated checkout page',
    description:
      'Without a Stripe key: the page the checkout link leads to, with the event, the tickets, the amount and **Pay** / **Decline** buttons.',
  })
  @ApiOkResponse({ description: 'The simulated checkout page', type: String })
  @ApiProblems(400, 404)
  page(@Param() params: SimulatorSessionParams): Promise<string> {
    return this.simulator.page(params.sessionId);
  }

  @Post(':sessionId/pay')
  @Redirect(undefined, 303)
  @ApiOperation({
    summary: 'Simulate a payment',
    description:
      'Delivers a signed `checkout.session.completed` (paid) event through the webhook, then sends the browser to the success page.',
  })
  @ApiResponse(REDIRECT)
  @ApiProblems(400, 404, 409)
  @ApiOtherProblems()
  async pay(@Param() params: SimulatorSessionParams): Promise<{ url: string }> {
    return { url: await this.simulator.pay(params.sessionId) };
  }

  @Post(':sessionId/decline')
  @Redirect(undefined, 303)
  @ApiOperation({
    summary: 'Simulate a declined payment',
    description:
      'Delivers a signed `checkout.session.async_payment_failed` event through the webhook, then sends the browser to the cancel page.',
  })
  @ApiResponse(REDIRECT)
  @ApiProblems(400, 404, 409)
  @ApiOtherProblems()
  async decline(@Param() params: SimulatorSessionParams): Promise<{ url: string }> {
    return { url: await this.simulator.decline(params.sessionId) };
  }
}
