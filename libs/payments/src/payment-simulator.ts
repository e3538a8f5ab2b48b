import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Stripe from 'stripe';
import { DataSource } from 'typeorm';
import type { Environment } from '@app/config';
import { renderSimulatorPage } from './payment-pages';
import { PaymentWebhooks } from './payment-webhooks';
import { SimulatorSessionClosedError, SimulatorSessionNotFoundError } from './payments.errors';
import { returnUrls } from './return-urls';
import { SIMULATOR_SESSION_PREFIX } from './simulator-provider';
import { WebhookSecret } from './webhook-secret';

interface SimulatedSession {
  id: string;
  orderId: string;
  eventName: string;
  totalAmount: number;
  currency: string;
  open: boolean;
}

/**
 * The checkout page of the local payment simulator (no STRIPE_SECRET_KEY, PAYMENT_SIMULATOR
 * allowing it). Pay and Decline
 * send the events Stripe would send, signed with the webhook secret, through the webhook's
 * own code path, then send the buyer where Stripe would. Off while a Stripe key is set, and
 * always in production.
 */
@Injectable()
export class PaymentSimulator {
  private readonly enabled: boolean;
  private readonly publicUrl: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly webhooks: PaymentWebhooks,
    private readonly secret: WebhookSecret,
    config: ConfigService<Environment, true>,
  ) {
    // Shut wherever PAYMENT_SIMULATOR does not allow it, and always in production.
    this.enabled = config.get('paymentSimulator', { infer: true });
    this.publicUrl = config.get('publicUrl', { infer: true });
  }

  async page(sessionId: string): Promise<string> {
    const session = await this.find(sessionId);
    const tickets: { label: string; typeName: string; price: number }[] =
      await this.dataSource.query(
        `SELECT oi.label, tt.name AS "typeName", oi.price
         FROM order_items oi JOIN ticket_types tt ON tt.id = oi.ticket_type_id
         WHERE oi.order_id = $1 ORDER BY oi.label`,
        [session.orderId],
      );
    return renderSimulatorPage({ ...session, sessionId: session.id, tickets });
  }

  /** The buyer paid: `checkout.session.completed` (paid). Answers the success URL. */
  async pay(sessionId: string): Promise<string> {
    const session = await this.findOpen(sessionId);
    await this.deliver('checkout.session.completed', session, 'paid');
    return returnUrls(this.publicUrl, session.orderId).successUrl;
  }

  /** The payment failed: `checkout.session.async_payment_failed`. Answers the cancel URL. */
  async decline(sessionId: string): Promise<string> {
    const session = await this.findOpen(sessionId);
    await this.deliver('checkout.session.async_payment_failed', session, 'unpaid');
    return returnUrls(this.publicUrl, session.orderId).cancelUrl;
  }

  private async find(sessionId: string): Promise<SimulatedSession> {
    if (!this.enabled || !sessionId.startsWith(SIMULATOR_SESSION_PREFIX))
      throw new SimulatorSessionNotFoundError();
    const [session]: SimulatedSession[] = await this.dataSource.query(
      `SELECT o.checkout_session_id AS id, o.id AS "orderId", e.name AS "eventName",
              o.total_amount::float8 AS "totalAmount", o.currency,
              o.checkout_session_closed_at IS NULL AS open
       FROM orders o JOIN events e ON e.id = o.event_id
       WHERE o.checkout_session_id = $1`,
      [sessionId],
    );
    if (!session) throw new SimulatorSessionNotFoundError();
    return session;
  }

  private async findOpen(sessionId: string): Promise<SimulatedSession> {
    const session = await this.find(sessionId);
    if (!session.open) throw new SimulatorSessionClosedError();
    return session;
  }

  private async deliver(
    type: 'checkout.session.completed' | 'checkout.session.async_payment_failed',
    session: SimulatedSession,
    paymentStatus: 'paid' | 'unpaid',
  ): Promise<void> {
    const payload = JSON.stringify({
      id: `evt_sim_${randomBytes(12).toString('hex')}`,
      object: 'event',
      type,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: {
        object: {
          id: session.id,
          object: 'checkout.session',
          status: 'complete',
          payment_status: paymentStatus,
          payment_intent: `sim_pi_${randomBytes(12).toString('hex')}`,
          amount_total: session.totalAmount,
          currency: session.currency,
          client_reference_id: session.orderId,
          metadata: { orderId: session.orderId },
        },
      },
    });
    const signature = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: this.secret.value,
    });
    await this.webhooks.handle(Buffer.from(payload), signature);
  }
}
