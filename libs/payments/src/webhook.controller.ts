import { Controller, Headers, HttpCode, Post, Req, type RawBodyRequest } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { ApiProblems, Public, VERIFIED_BODY_ROUTE } from '@app/http';
import { Metrics } from '@app/metrics';
import { PaymentWebhooks } from './payment-webhooks';
import { InvalidWebhookSignatureError } from './payments.errors';
import { WebhookAck } from './payments.dto';

@ApiTags('payments')
@Controller('payments')
export class WebhookController {
  constructor(
    private readonly webhooks: PaymentWebhooks,
    private readonly metrics: Metrics,
  ) {}

  @Post('webhook')
  @RouteConfig(VERIFIED_BODY_ROUTE)
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Payment provider webhook',
    description:
      'For Stripe: events verified with `STRIPE_WEBHOOK_SECRET` over the raw body. A repeated event id is acknowledged with no second effect; unknown types are acknowledged and ignored.',
  })
  @ApiHeader({ name: 'Stripe-Signature', required: true })
  @ApiBody({
    description: 'A Stripe event, verified over the raw body',
    schema: { type: 'object' },
  })
  @ApiOkResponse({ type: WebhookAck })
  @ApiProblems(400)
  async receive(
    @Req() request: RawBodyRequest<FastifyRequest>,
    @Headers('stripe-signature') signature?: string,
  ): Promise<WebhookAck> {
    try {
      const { type, outcome } = await this.webhooks.handle(request.rawBody, signature);
      this.metrics.webhookEvents.inc({ type, outcome });
    } catch (error) {
      if (error instanceof InvalidWebhookSignatureError)
        this.metrics.webhookEvents.inc({ type: 'unverified', outcome: 'rejected' });
      throw error;
    }
    return { received: true };
  }
}
