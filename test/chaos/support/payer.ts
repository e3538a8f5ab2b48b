import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import Stripe from 'stripe';
import { FAKE_STRIPE_SECRET_KEY } from '../../fakes/stripe-client';
import type { StripeFake } from '../../fakes/stripe-server';
import type { BookedOrder } from './storm';

export const CHAOS_WEBHOOK_SECRET = 'whsec_chaos_0123456789abcdef';

/** The app's settings to take payments through `fake`, its webhooks signed as `signWebhook` does. */
export function stripeFakeSettings(fake: StripeFake): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: FAKE_STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: CHAOS_WEBHOOK_SECRET,
    STRIPE_API_URL: fake.url,
  };
}

/** How long Stripe keeps redelivering a webhook here (it retries for days). */
const REDELIVERY_MS = 90_000;
const RETRY_PAUSE_MS = 250;

/**
 * Buyers who pay while the storm goes on, through the real flow: follow the checkout link
 * (303 to the fake's session), pay at "Stripe" (the fake completes the session), and Stripe
 * delivers the signed `checkout.session.completed` to the webhook — redelivered until the
 * server answers 200, as Stripe does, so a crashed or restarted server still gets it.
 */
export class Payer {
  /** Orders whose payment "Stripe" took: each must end confirmed or refunded. */
  readonly paidOrderIds: string[] = [];
  readonly failures: string[] = [];
  private readonly payments: Promise<void>[] = [];
  private webhookTurn = 0;

  constructor(
    private readonly fake: StripeFake,
    /** Where Stripe delivers webhooks (several instances: in turn). */
    private readonly webhookUrls: string[],
  ) {}

  pay(order: BookedOrder): void {
    this.payments.push(this.payOne(order));
  }

  /** Waits for every payment started to be delivered; returns what went wrong. */
  async settle(): Promise<string[]> {
    await Promise.all(this.payments);
    return this.failures;
  }

  private async payOne(order: BookedOrder): Promise<void> {
    const deadline = Date.now() + REDELIVERY_MS;
    let sessionUrl: string | undefined;
    // The buyer follows the link until it redirects (the server may be restarting).
    while (!sessionUrl && Date.now() < deadline) {
      const answer = await fetch(order.checkoutUrl, { redirect: 'manual' }).catch(() => null);
      if (answer?.status === 303) sessionUrl = answer.headers.get('location') ?? undefined;
      else if (answer?.status === 409)
        return; // the hold ended first: nothing to pay
      else await delay(RETRY_PAUSE_MS);
    }
    const session = [...this.fake.sessions.values()].find((s) => s.url === sessionUrl);
    if (!session) {
      this.failures.push(`order ${order.id}: no checkout session behind its link`);
      return;
    }
    const paid = this.fake.completeSession(session.id);
    this.paidOrderIds.push(order.id);
    const event = stripeEvent('checkout.session.completed', { ...paid, line_items: undefined });
    while (Date.now() < deadline) {
      const url = this.webhookUrls[this.webhookTurn++ % this.webhookUrls.length];
      const answer = await fetch(`${url}/api/v1/payments/webhook`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'stripe-signature': signWebhook(event),
        },
        body: event,
      }).catch(() => null);
      if (answer?.status === 200) return;
      await delay(RETRY_PAUSE_MS);
    }
    this.failures.push(`order ${order.id}: the webhook was never accepted`);
  }
}

/** An event as Stripe delivers it, with a fresh id. */
export function stripeEvent(type: string, object: object, created = Date.now()): string {
  return JSON.stringify({
    id: `evt_chaos_${randomBytes(12).toString('hex')}`,
    object: 'event',
    api_version: '2025-01-01',
    created: Math.floor(created / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  });
}

export function signWebhook(payload: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: CHAOS_WEBHOOK_SECRET,
    timestamp,
  });
}
