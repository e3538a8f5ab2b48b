import type Stripe from 'stripe';
import { paymentFactOf } from './payment-events';

const ORDER_ID = '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f';

function event(type: string, object: object): Stripe.Event {
  return { id: 'evt_1', object: 'event', type, data: { object } } as unknown as Stripe.Event;
}

const session = (overrides: object = {}) => ({
  id: 'cs_test_1',
  object: 'checkout.session',
  payment_status: 'paid',
  payment_intent: 'pi_1',
  metadata: { orderId: ORDER_ID },
  client_reference_id: ORDER_ID,
  ...overrides,
});

describe('paymentFactOf', () => {
  it('a paid checkout session is a payment, and closes the session', () => {
    expect(paymentFactOf(event('checkout.session.completed', session()))).toEqual({
      kind: 'paid',
      orderId: ORDER_ID,
      paymentIntentId: 'pi_1',
      closedSessionId: 'cs_test_1',
    });
    expect(paymentFactOf(event('checkout.session.async_payment_succeeded', session()))?.kind).toBe(
      'paid',
    );
  });

  it('a completed session still unpaid waits for the delayed payment', () => {
    const fact = paymentFactOf(
      event('checkout.session.completed', session({ payment_status: 'unpaid' })),
    );
    expect(fact).toMatchObject({ kind: 'awaiting_payment', paymentIntentId: 'pi_1' });
  });

  it('failures and expiries', () => {
    expect(paymentFactOf(event('checkout.session.async_payment_failed', session()))?.kind).toBe(
      'failed',
    );
    expect(paymentFactOf(event('checkout.session.expired', session()))?.kind).toBe('expired');
    expect(
      paymentFactOf(
        event('payment_intent.payment_failed', { id: 'pi_2', metadata: { orderId: ORDER_ID } }),
      ),
    ).toEqual({
      kind: 'failed',
      orderId: ORDER_ID,
      paymentIntentId: 'pi_2',
      closedSessionId: null,
    });
  });

  it('only a full refund of a charge refunds the order', () => {
    const charge = { id: 'ch_1', payment_intent: 'pi_1', metadata: {} };
    expect(paymentFactOf(event('charge.refunded', { ...charge, refunded: true }))).toEqual({
      kind: 'refunded',
      orderId: null,
      paymentIntentId: 'pi_1',
      closedSessionId: null,
    });
    expect(paymentFactOf(event('charge.refunded', { ...charge, refunded: false }))).toBeNull();
  });

  it('falls back to client_reference_id, and ignores order ids that are not ours', () => {
    expect(
      paymentFactOf(event('checkout.session.expired', session({ metadata: {} })))?.orderId,
    ).toBe(ORDER_ID);
    expect(
      paymentFactOf(
        event(
          'checkout.session.expired',
          session({ metadata: { orderId: 'ord_123' }, client_reference_id: null }),
        ),
      )?.orderId,
    ).toBeNull();
  });

  it('a paid session without a payment intent cannot be handled', () => {
    expect(() =>
      paymentFactOf(event('checkout.session.completed', session({ payment_intent: null }))),
    ).toThrow(/no payment intent/);
  });

  it('other event types are not payment facts', () => {
    expect(paymentFactOf(event('customer.created', { id: 'cus_1' }))).toBeNull();
  });
});
