import { escapeHtml } from '@app/common';

/** The few HTML pages payments serve to a buyer's browser. Every value is escaped. */

export interface SimulatorPageModel {
  sessionId: string;
  eventName: string;
  tickets: { label: string; typeName: string; price: number }[];
  totalAmount: number;
  currency: string;
  open: boolean;
}

export function renderSimulatorPage(model: SimulatorPageModel): string {
  const money = (amount: number) => formatMoney(amount, model.currency);
  const rows = model.tickets
    .map(
      (ticket) =>
        `<tr><td>${escapeHtml(ticket.label)}</td><td>${escapeHtml(ticket.typeName)}</td><td>${escapeHtml(money(ticket.price))}</td></tr>`,
    )
    .join('');
  // Relative actions: they resolve under this page's own path, whatever proxy prefix it has.
  const id = escapeHtml(model.sessionId);
  const actions = model.open
    ? `<form method="post" action="${id}/pay" enctype="text/plain"><button type="submit">Pay ${escapeHtml(money(model.totalAmount))}</button></form>
       <form method="post" action="${id}/decline" enctype="text/plain"><button type="submit" class="decline">Decline</button></form>`
    : `<p>This checkout session is no longer open.</p>`;
  return page(
    'Payment simulator',
    `<h1>Payment simulator</h1>
     <p class="note">No payment provider is configured: nothing is charged.</p>
     <h2>${escapeHtml(model.eventName)}</h2>
     <table><thead><tr><th>Ticket</th><th>Type</th><th>Price</th></tr></thead><tbody>${rows}</tbody></table>
     <p class="total">Total: ${escapeHtml(money(model.totalAmount))}</p>
     <div class="actions">${actions}</div>`,
  );
}

export type ReturnOutcome = 'success' | 'cancel';

export function renderReturnPage(outcome: ReturnOutcome, orderId: string | undefined): string {
  const order = orderId ? ` (order ${escapeHtml(orderId)})` : '';
  return outcome === 'success'
    ? page(
        'Payment received',
        `<h1>Thank you</h1><p>Your payment was received${order}. The order is confirmed as soon as the payment provider reports the payment.</p>`,
      )
    : page(
        'Payment cancelled',
        `<h1>Payment cancelled</h1><p>Nothing was charged${order}. Your tickets stay held until the hold ends: follow the checkout link again to pay.</p>`,
      );
}

/** Minor units as the currency writes them: 2500 usd is $25.00, 2500 jpy is ¥2,500. */
export function formatMoney(amount: number, currency: string): string {
  const format = new Intl.NumberFormat('en', { style: 'currency', currency });
  return format.format(amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; }
  .note { color: #666; } .total { font-weight: bold; font-size: 1.2rem; }
  .actions { display: flex; gap: 1rem; } button { font-size: 1rem; padding: .6rem 1.4rem; cursor: pointer; }
  .decline { background: #eee; }
</style></head>
<body>${body}</body></html>`;
}
