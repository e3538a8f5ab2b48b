import { Injectable, Logger } from '@nestjs/common';
import Stripe from 'stripe';
import type { EntityManager } from 'typeorm';
import { OrderLifecycle } from '@app/orders';
import { TicketTransactions, type TicketChanges } from '@app/tickets';
import { CheckoutSessions } from './checkout-sessions';
import { paymentFactOf, type PaymentFact } from './payment-events';
import { InvalidWebhookSignatureError } from './payments.errors';
import { WebhookSecret } from './webhook-secret';

/** Stripe's own default: a signature older than this is refused (replayed requests). */
const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface WebhookOutcome {
  /** A handled event type, or `other` (acknowledged and ignored). */
  type: string;
  outcome: 'applied' | 'duplicate' | 'unknown_order' | 'ignored';
}

/**
 * Applies the provider's events to orders. Each event is recorded in the transaction that
 * applies it, so a repeat has no second effect; each transition is a conditional update on
 * the order's current state, so events converge whatever order they arrive in. A payment
 * for an order whose hold already ended takes its tickets back if they are still free, else
 * the payment is marked for refund (OwedRefundJob refunds it: the provider is never called
 * from here, so the answer to the webhook never waits on it).
 */
@Injectable()
export class PaymentWebhooks {
  private readonly logger = new Logger(PaymentWebhooks.name);

  constructor(
    private readonly secret: WebhookSecret,
    private readonly lifecycle: OrderLifecycle,
    private readonly sessions: CheckoutSessions,
    private readonly tickets: TicketTransactions,
  ) {}

  /**
   * Verifies the signature over the raw body, then applies the event once. Says what became
   * of it (for the metrics): `type` is the event's type when it is one this server handles.
   */
  async handle(
    rawBody: Buffer | undefined,
    signature: string | undefined,
  ): Promise<WebhookOutcome> {
    const event = this.verify(rawBody, signature);
    const fact = paymentFactOf(event);
    if (!fact) return { type: 'other', outcome: 'ignored' };
    const outcome = await this.tickets.run(
      async (manager, changes): Promise<WebhookOutcome['outcome']> => {
        const orderId = await this.orderOf(manager, fact);
        // Not ours (another integration on the same Stripe account), or already applied.
        if (!orderId) return 'unknown_order';
        if (!(await this.record(manager, event, orderId))) return 'duplicate';
        if (fact.closedSessionId) await this.sessions.close(manager, orderId, fact.closedSessionId);
        await this.apply(manager, changes, fact, orderId);
        return 'applied';
      },
    );
    return { type: event.type, outcome };
  }

  private verify(rawBody: Buffer | undefined, signature: string | undefined): Stripe.Event {
    if (!rawBody || !signature) throw new InvalidWebhookSignatureError();
    try {
      return Stripe.webhooks.constructEvent(
        rawBody,
        signature,
        this.secret.value,
        SIGNATURE_TOLERANCE_SECONDS,
      );
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError)
        throw new InvalidWebhookSignatureError();
      throw error;
    }
  }

  private async apply(
    manager: EntityManager,
    changes: TicketChanges,
    fact: PaymentFact,
    orderId: string,
  ): Promise<void> {
    switch (fact.kind) {
      case 'paid':
        return this.confirm(manager, changes, orderId, fact.paymentIntentId);
      case 'awaiting_payment':
        return this.recordPaymentIntent(manager, orderId, fact.paymentIntentId);
      case 'failed':
      case 'expired':
        await changes.freed(await this.lifecycle.releasePending(manager, [orderId], fact.kind));
        return;
      case 'refunded':
        await changes.freed(await this.lifecycle.markRefunded(manager, orderId));
        return;
    }
  }

  /** Paid: a held order is confirmed; one whose hold ended is confirmed or refunded. */
  private async confirm(
    manager: EntityManager,
    changes: TicketChanges,
    orderId: string,
    paymentIntentId: string,
  ): Promise<void> {
    if (await this.lifecycle.confirm(manager, orderId, paymentIntentId)) return;
    const late = await this.lifecycle.confirmLate(manager, orderId, paymentIntentId);
    if (late.outcome === 'refund_due')
      this.logger.warn(`Order ${orderId} was paid after its tickets were sold on: refunding`);
    if (late.outcome !== 'retaken') return;
    this.logger.log(`Order ${orderId} was paid after its hold ended: its tickets were still free`);
    // Taken back from the public: the lock store must not sell them again.
    changes.taken([late.order]);
  }

  /** Kept so that the payment intent's own failure event finds the order. */
  private async recordPaymentIntent(
    manager: EntityManager,
    orderId: string,
    paymentIntentId: string | null,
  ): Promise<void> {
    await manager.query(
      `UPDATE orders SET payment_intent_id = $2 WHERE id = $1 AND payment_intent_id IS NULL`,
      [orderId, paymentIntentId],
    );
  }

  /** The order the event is about, if it is one of ours. */
  private async orderOf(manager: EntityManager, fact: PaymentFact): Promise<string | undefined> {
    const [order]: { id: string }[] = await manager.query(
      `SELECT id FROM orders WHERE id = $1 OR payment_intent_id = $2 LIMIT 1`,
      [fact.orderId, fact.paymentIntentId],
    );
    return order?.id;
  }

  /** False when the event was applied before. */
  private async record(
    manager: EntityManager,
    event: Stripe.Event,
    orderId: string,
  ): Promise<boolean> {
    const recorded: unknown[] = await manager.query(
      `INSERT INTO processed_payment_events (id, type, order_id) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [event.id, event.type, orderId],
    );
    return recorded.length > 0;
  }
}
