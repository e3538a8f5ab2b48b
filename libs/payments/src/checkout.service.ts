import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import type { Environment } from '@app/config';
import { CheckoutLinks, type OrderStatus } from '@app/orders';
import { CheckoutSessions } from './checkout-sessions';
import {
  PaymentProvider,
  type CheckoutLineItem,
  type CheckoutSession,
  type CheckoutSessionRequest,
} from './payment-provider';
import { CheckoutLinkNotFoundError, HoldEndedError } from './payments.errors';
import { returnUrls } from './return-urls';

/** Stripe refuses sessions that expire sooner than this after their creation... */
const SESSION_MIN_LIFETIME_MS = 30 * 60_000;
/** ...or later than this. */
const SESSION_MAX_LIFETIME_MS = 24 * 3600_000;

interface CheckoutOrder {
  id: string;
  status: OrderStatus;
  expiresAt: Date;
  currency: string;
  checkoutSessionUrl: string | null;
  email: string;
  eventName: string;
}

/**
 * The signed checkout link: the provider's checkout session for a held order, created the
 * first time the buyer follows the link (never on the booking path) and reused after that.
 * No transaction is open while the provider is called.
 */
@Injectable()
export class CheckoutService {
  private readonly publicUrl: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly links: CheckoutLinks,
    private readonly sessions: CheckoutSessions,
    private readonly provider: PaymentProvider,
    config: ConfigService<Environment, true>,
  ) {
    this.publicUrl = config.get('publicUrl', { infer: true });
  }

  /** Where to send the buyer to pay for the order the link was signed for. */
  async sessionUrl(orderId: string, token: string): Promise<string> {
    const order = await this.find(orderId);
    if (!order || !this.links.isValid(orderId, order.expiresAt, token))
      throw new CheckoutLinkNotFoundError();
    if (order.status !== 'pending' || order.expiresAt.getTime() <= Date.now())
      throw new HoldEndedError();
    if (order.checkoutSessionUrl) return order.checkoutSessionUrl;
    const session = await this.provider.createCheckoutSession(await this.sessionRequest(order));
    return this.store(orderId, session);
  }

  private async find(orderId: string): Promise<CheckoutOrder | undefined> {
    const [order]: CheckoutOrder[] = await this.dataSource.query(
      `SELECT o.id, o.status, o.expires_at AS "expiresAt", o.currency,
              o.checkout_session_url AS "checkoutSessionUrl", u.email, e.name AS "eventName"
       FROM orders o JOIN users u ON u.id = o.user_id JOIN events e ON e.id = o.event_id
       WHERE o.id = $1`,
      [orderId],
    );
    return order;
  }

  private async sessionRequest(order: CheckoutOrder): Promise<CheckoutSessionRequest> {
    const lineItems: CheckoutLineItem[] = await this.dataSource.query(
      `SELECT $2::text || ' — ' || tt.name AS name, oi.price AS "unitAmount", count(*)::int AS quantity
         FROM order_items oi JOIN ticket_types tt ON tt.id = oi.ticket_type_id
         WHERE oi.order_id = $1
         GROUP BY tt.id, tt.name, tt.position, oi.price ORDER BY tt.position`,
      [order.id, order.eventName],
    );
    const expiresAt = sessionExpiry(order.expiresAt, Date.now());
    return {
      orderId: order.id,
      currency: order.currency,
      lineItems,
      customerEmail: order.email,
      ...returnUrls(this.publicUrl, order.id),
      expiresAt,
      // Repeats with the same parameters (a double click, a retry after a lost answer) get
      // the same session back. expires_at is part of the key because it is part of the
      // parameters: a later click is a new request, and a session whose creation answer was
      // lost stays unknown to everyone, so it can never be paid.
      idempotencyKey: `checkout-${order.id}-${Math.floor(expiresAt.getTime() / 1000)}`,
    };
  }

  /** Keeps the first session stored for the order; every follow of the link gets that one. */
  private async store(orderId: string, session: CheckoutSession): Promise<string> {
    const current = await this.sessions.store(orderId, session);
    // The hold ended while the session was created: CheckoutSessionExpiryJob expires it.
    if (current.status !== 'pending') throw new HoldEndedError();
    return current.checkoutSessionUrl;
  }
}

/**
 * The hold's end, but no sooner than Stripe's minimum (rounded up to the minute, so clicks
 * within a minute send identical parameters) and no later than its maximum.
 */
export function sessionExpiry(holdEndsAt: Date, now: number): Date {
  const earliest = Math.ceil((now + SESSION_MIN_LIFETIME_MS) / 60_000) * 60_000;
  return new Date(
    Math.min(Math.max(holdEndsAt.getTime(), earliest), now + SESSION_MAX_LIFETIME_MS),
  );
}
