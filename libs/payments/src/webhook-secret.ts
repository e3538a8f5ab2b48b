import { createHmac } from 'node:crypto';
import type { ConfigService } from '@nestjs/config';
import type { JwtSecret } from '@app/auth';
import type { Environment } from '@app/config';

/**
 * The secret webhook events are signed with: STRIPE_WEBHOOK_SECRET, or for the simulator (no
 * Stripe configured) one derived from the server's own secret, so that only this server can
 * sign the events its simulator sends.
 */
export class WebhookSecret {
  constructor(readonly value: string) {}

  static fromConfig(
    config: ConfigService<Environment, true>,
    serverSecret: JwtSecret,
  ): WebhookSecret {
    const configured = config.get('STRIPE_WEBHOOK_SECRET', { infer: true });
    if (configured) return new WebhookSecret(configured);
    const derived = createHmac('sha256', serverSecret.value)
      .update('payment-simulator-webhook/v1')
      .digest('base64url');
    return new WebhookSecret(`whsec_${derived}`);
  }
}
