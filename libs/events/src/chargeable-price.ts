/**
 * The smallest amount Stripe charges in each currency it publishes a minimum for, in the
 * minor unit its API takes amounts in (docs.stripe.com/currencies, "Minimum and maximum
 * charge amounts"). JPY is zero-decimal: 50 is ¥50. HUF is charged with two decimals:
 * 17500 is 175.00 Ft. Events are sold in these currencies only: in any other, Stripe's
 * minimum is the account's settlement minimum converted at the day's rate, which no one
 * can check when the event is created, so its checkout could fail for ever.
 */
const MINIMUM_CHARGE: Readonly<Record<string, number>> = {
  aed: 200,
  aud: 50,
  bgn: 100,
  brl: 50,
  cad: 50,
  chf: 50,
  czk: 1500,
  dkk: 250,
  eur: 50,
  gbp: 30,
  hkd: 400,
  huf: 17500,
  inr: 50,
  jpy: 50,
  mxn: 1000,
  myr: 200,
  nok: 300,
  nzd: 50,
  pln: 200,
  ron: 200,
  sek: 300,
  sgd: 50,
  thb: 1000,
  usd: 50,
};

export const EVENT_CURRENCIES = Object.keys(MINIMUM_CHARGE);

/** Stripe takes amounts of at most eight digits ($999,999.99). */
export const MAX_PRICE = 99_999_999;

/** Why Stripe would refuse to charge this price, or undefined when it would not. */
export function priceProblem(price: number, currency: string): string | undefined {
  // An event saved before currencies were checked: Stripe's base minimum ($0.50).
  const minimum = MINIMUM_CHARGE[currency] ?? MINIMUM_CHARGE.usd;
  if (price === 0 || (price >= minimum && price <= MAX_PRICE)) return undefined;
  return `price must be 0 (free) or from ${minimum}, the smallest amount Stripe charges in ${currency}, up to ${MAX_PRICE}`;
}
