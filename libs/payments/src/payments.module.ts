import { Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AuthModule, JwtSecret } from '@app/auth';
import type { Environment } from '@app/config';
import { OrdersModule } from '@app/orders';
import { TicketsModule } from '@app/tickets';
import { CheckoutSessionExpiryJob } from './checkout-session-expiry.job';
import { CheckoutSessions } from './checkout-sessions';
import { CheckoutController } from './checkout.controller';
import { CheckoutService } from './checkout.service';
import { OrderRefunds } from './order-refunds';
import { OwedRefundJob } from './owed-refund.job';
import { PaymentProvider } from './payment-provider';
import { PaymentSimulator } from './payment-simulator';
import { PaymentWebhooks } from './payment-webhooks';
import { SimulatorController } from './simulator.controller';
import { SimulatorProvider } from './simulator-provider';
import { StripeProvider } from './stripe-provider';
import { WebhookController } from './webhook.controller';
import { WebhookSecret } from './webhook-secret';

/** Exports OrderRefunds, which the app binds as the orders module's PaidOrderRefund. */
@Module({
  imports: [AuthModule, OrdersModule, TicketsModule],
  controllers: [CheckoutController, WebhookController, SimulatorController],
  providers: [
    {
      provide: PaymentProvider,
      inject: [ConfigService],
      useFactory: (config: ConfigService<Environment, true>) => {
        // Configuration refuses to start with neither a key nor the simulator allowed.
        if (!config.get('paymentSimulator', { infer: true }))
          return new StripeProvider(config.get('STRIPE_SECRET_KEY', { infer: true }), config);
        new Logger('Payments').warn(
          'STRIPE_SECRET_KEY is not set: payments go through the local simulator',
        );
        return new SimulatorProvider(config);
      },
    },
    {
      provide: WebhookSecret,
      inject: [ConfigService, JwtSecret],
      useFactory: (config: ConfigService<Environment, true>, serverSecret: JwtSecret) =>
        WebhookSecret.fromConfig(config, serverSecret),
    },
    CheckoutService,
    CheckoutSessionExpiryJob,
    CheckoutSessions,
    OrderRefunds,
    OwedRefundJob,
    PaymentSimulator,
    PaymentWebhooks,
  ],
  exports: [OrderRefunds],
})
export class PaymentsModule {}
