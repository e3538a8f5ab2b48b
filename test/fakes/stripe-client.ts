import Stripe from 'stripe';
import type { StripeFake } from './stripe-server';

/** Any `sk_test_...` key is accepted by the fake; this one is used unless told otherwise. */
export const FAKE_STRIPE_SECRET_KEY = 'sk_test_stripefake0000000000000000';

export interface StripeFakeClientOptions {
  /** Secret key to send. `null` sends no `Authorization` header at all. */
  apiKey?: string | null;
  /** Request timeout in ms (SDK default is 80 s; tests want failures fast). Default 5000. */
  timeout?: number;
  /** SDK retries on connection errors, 409 and 5xx. Default 0, as the app configures it. */
  maxNetworkRetries?: number;
}

/** A real `stripe` SDK client aimed at the fake, configured the way the app configures its own. */
export function stripeClientFor(fake: StripeFake, opts: StripeFakeClientOptions = {}): Stripe {
  const url = new URL(fake.url);
  const config: Stripe.StripeConfig = {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    maxNetworkRetries: opts.maxNetworkRetries ?? 0,
    timeout: opts.timeout ?? 5_000,
  };
  const apiKey = opts.apiKey === undefined ? FAKE_STRIPE_SECRET_KEY : opts.apiKey;
  if (apiKey === null) {
    // The SDK refuses an empty key; an authenticator that adds nothing sends no header.
    return new Stripe('', { ...config, authenticator: () => Promise.resolve() });
  }
  return new Stripe(apiKey, config);
}
