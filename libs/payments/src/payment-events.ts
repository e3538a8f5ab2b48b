import type Stripe from 'stripe';

interface FactBase {
  /** From the object's `metadata.orderId` (or `client_reference_id`), when it names an order. */
  orderId: string | null;
  /** The checkout session the event shows can no longer be paid (completed or expired). */
  closedSessionId: string | null;
}

/**
 * What a provider event says about an order's payment, in this module's words.
 * `awaiting_payment`: the session completed but the money is still on its way (delayed
 * payment methods).
 */
export type PaymentFact =
  | (FactBase & { kind: 'paid'; paymentIntentId: string })
  | (FactBase & {
      kind: 'awaiting_payment' | 'failed' | 'expired' | 'refunded';
      paymentIntentId: string | null;
    });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The fact an event type this module handles states, or null for any other event. */
export function paymentFactOf(event: Stripe.Event): PaymentFact | null {
  switch (event.type) {
    case 'checkout.session.completed':
      return sessionFact(
        event.data.object,
        event.data.object.payment_status === 'paid' ? 'paid' : 'awaiting_payment',
      );
    case 'checkout.session.async_payment_succeeded':
      return sessionFact(event.data.object, 'paid');
    case 'checkout.session.async_payment_failed':
      return sessionFact(event.data.object, 'failed');
    case 'checkout.session.expired':
      return sessionFact(event.data.object, 'expired');
    case 'payment_intent.payment_failed':
      return {
        kind: 'failed',
        orderId: orderIdIn(event.data.object.metadata),
        paymentIntentId: event.data.object.id,
        // Checkout lets the buyer try another card: the session itself stays open.
        closedSessionId: null,
      };
    case 'charge.refunded': {
      const charge = event.data.object;
      // Partial refunds (a fee, a goodwill gesture) leave the tickets sold.
      if (!charge.refunded) return null;
      return {
        kind: 'refunded',
        orderId: orderIdIn(charge.metadata),
        paymentIntentId: idOf(charge.payment_intent),
        closedSessionId: null,
      };
    }
    default:
      return null;
  }
}

function sessionFact(session: Stripe.Checkout.Session, kind: PaymentFact['kind']): PaymentFact {
  const base = {
    orderId: orderIdIn(session.metadata) ?? orderIdOf(session.client_reference_id),
    closedSessionId: session.id,
  };
  const paymentIntentId = idOf(session.payment_intent);
  if (kind !== 'paid') return { ...base, kind, paymentIntentId };
  // Refunds go through the payment intent: a paid session without one cannot be handled.
  if (!paymentIntentId)
    throw new Error(`Paid checkout session ${session.id} has no payment intent`);
  return { ...base, kind, paymentIntentId };
}

function orderIdIn(metadata: Stripe.Metadata | null): string | null {
  return orderIdOf(metadata?.orderId);
}

/** Other integrations on the same Stripe account may put anything in these fields. */
function orderIdOf(value: string | null | undefined): string | null {
  return value && UUID.test(value) ? value.toLowerCase() : null;
}

function idOf(reference: string | { id: string } | null): string | null {
  return typeof reference === 'string' ? reference : (reference?.id ?? null);
}
