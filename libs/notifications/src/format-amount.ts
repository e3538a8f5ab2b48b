/** An amount in minor units, as the currency writes it (€12.50, ¥1,200, 1.500 KWD...). */
export function formatAmount(minor: number, currency: string): string {
  const format = new Intl.NumberFormat('en-GB', {
    style: 'currency',
    currency: currency.toUpperCase(),
  });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minor / 10 ** digits);
}
