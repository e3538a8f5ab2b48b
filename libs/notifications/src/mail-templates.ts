import { escapeHtml as e, formatWhen } from '@app/common';
import { formatAmount } from './format-amount';

/** Everything a buyer's mail may say about an order, read when the mail is sent. */
export interface OrderMailContext {
  shopName: string;
  /** The server's time zone, which times are shown in. */
  timeZone: string;
  buyer: { name: string; email: string };
  order: { id: string; quantity: number; totalAmount: number; currency: string };
  event: { name: string; venue: string; startsAt: Date };
  items: { ticketTypeName: string; label: string; price: number }[];
}

export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

/** A ticket's QR code, shown in the mail from the inline attachment `cid`. */
export interface InlineCode {
  label: string;
  ticketTypeName: string;
  cid: string;
}

const INK = '#1d1d29';
const MUTED = '#6b6b80';
const ACCENT = '#5b3cc4';
const LINE = '#e6e3ef';
const FONT = "-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

export function orderConfirmedMail(context: OrderMailContext, codes: InlineCode[]): MailContent {
  const { event, order, buyer } = context;
  const subject = `Your tickets for ${event.name}`;
  const text = textBody(
    context,
    [
      `Thank you for your order. Your tickets for ${event.name} are attached as a PDF: print them or show them on your phone at the door. Each code admits one person once.`,
    ],
    [
      `Total paid: ${formatAmount(order.totalAmount, order.currency)}`,
      '',
      'The attached calendar file adds the event to your calendar.',
    ],
  );
  // Inline blocks, not table cells, so the codes wrap onto more lines on a narrow screen.
  const qrCodes = codes
    .map(
      (code) => `
      <div style="display:inline-block;width:166px;vertical-align:top;text-align:center;padding:8px 0;">
        <img src="cid:${e(code.cid)}" width="150" height="150" alt="QR code of ticket ${e(code.label)}" style="display:block;margin:0 auto;border:1px solid ${LINE};border-radius:8px;">
        <div style="font:600 13px ${FONT};color:${INK};padding-top:6px;">${e(code.label)}</div>
        <div style="font:12px ${FONT};color:${MUTED};">${e(code.ticketTypeName)}</div>
      </div>`,
    )
    .join('');
  const html = layout(context, {
    preheader: `${order.quantity} ticket${order.quantity === 1 ? '' : 's'} for ${event.name}, ${formatWhen(event.startsAt, context.timeZone)}`,
    heading: "You're going!",
    body: `
      ${paragraph(`Hello ${e(buyer.name)}, thank you for your order. Your tickets are attached as a PDF: print them or show them on your phone at the door. Each code admits one person once.`)}
      ${eventCard(context)}
      ${itemsTable(context, 'Total paid')}
      ${
        codes.length > 0
          ? `<p style="margin:24px 0 8px;font:600 15px ${FONT};color:${INK};">Your tickets</p>
      <div style="text-align:center;font-size:0;">${qrCodes}</div>`
          : ''
      }
      ${note('The attached calendar file adds the event to your calendar.')}`,
  });
  return { subject, text, html };
}

export function paymentFailedMail(context: OrderMailContext): MailContent {
  return releasedMail(context, {
    subject: `Your payment for ${context.event.name} did not go through`,
    heading: 'Your payment did not go through',
    said: `The payment for your order was declined, so no money was taken and the tickets you held were released.`,
    next: 'You are welcome to book again while tickets are available.',
  });
}

export function holdExpiredMail(context: OrderMailContext): MailContent {
  return releasedMail(context, {
    subject: `Your tickets for ${context.event.name} were released`,
    heading: 'Your hold has expired',
    said: `The time to pay for your order ran out before the payment was completed, so the tickets went back on sale. No money was taken.`,
    next: 'If you still want to go, book again while tickets are available.',
  });
}

/** A hold that ended unpaid: what happened, what the buyer can do, the tickets not charged. */
function releasedMail(
  context: OrderMailContext,
  words: { subject: string; heading: string; said: string; next: string },
): MailContent {
  const { subject, heading, said, next } = words;
  const text = textBody(context, [said, next]);
  const html = layout(context, {
    preheader: said,
    heading,
    body: `
      ${greeting(context, said)}
      ${paragraph(next)}
      ${eventCard(context)}
      ${itemsTable(context, 'Not charged')}`,
  });
  return { subject, text, html };
}

export function refundedMail(context: OrderMailContext): MailContent {
  const { event, order } = context;
  const amount = formatAmount(order.totalAmount, order.currency);
  const subject = `Your refund for ${event.name}`;
  const said = `We have refunded ${amount} to the card you paid with; your bank usually shows it within 5 to 10 business days. The tickets of this order are no longer valid.`;
  const text = textBody(context, [said], [`Refunded: ${amount}`]);
  const html = layout(context, {
    preheader: said,
    heading: 'Your order was refunded',
    body: `
      ${greeting(context, said)}
      ${eventCard(context)}
      ${itemsTable(context, 'Refunded')}`,
  });
  return { subject, text, html };
}

/** `paid`: the buyer had paid, and the refund is on its way; otherwise their hold ended. */
export function eventCancelledMail(context: OrderMailContext, paid: boolean): MailContent {
  const { event, order } = context;
  const amount = formatAmount(order.totalAmount, order.currency);
  const subject = `${event.name} is cancelled`;
  const said = paid
    ? `We are sorry: ${event.name} has been cancelled. Your refund of ${amount} is on its way to the card you paid with; your bank usually shows it within 5 to 10 business days. You do not need to do anything.`
    : `We are sorry: ${event.name} has been cancelled. The tickets you held were released and no money was taken.`;
  const text = textBody(context, [said], paid ? [`To be refunded: ${amount}`] : []);
  const html = layout(context, {
    preheader: said,
    heading: 'This event is cancelled',
    body: `
      ${greeting(context, said)}
      ${eventCard(context)}
      ${itemsTable(context, paid ? 'To be refunded' : 'Not charged')}`,
  });
  return { subject, text, html };
}

export function waitlistOfferMail(
  context: OrderMailContext,
  offer: { checkoutUrl: string; expiresAt: Date },
): MailContent {
  const { event, order } = context;
  const deadline = formatWhen(offer.expiresAt, context.timeZone);
  const subject = `Tickets for ${event.name} are waiting for you`;
  const said = `Good news: tickets you were waiting for are free, and we are holding them for you until ${deadline}. After that they go to the next person in line.`;
  const text = textBody(
    context,
    [said, '', `Pay here: ${offer.checkoutUrl}`],
    [`Total: ${formatAmount(order.totalAmount, order.currency)}`],
  );
  const html = layout(context, {
    preheader: said,
    heading: 'Your tickets are waiting',
    body: `
      ${greeting(context, said)}
      <table role="presentation" cellpadding="0" cellspacing="0" style="margin:24px 0;">
        <tr><td style="border-radius:8px;background:${ACCENT};">
          <a href="${e(offer.checkoutUrl)}" style="display:inline-block;padding:14px 28px;font:600 16px ${FONT};color:#ffffff;text-decoration:none;">Pay for my tickets</a>
        </td></tr>
      </table>
      ${eventCard(context)}
      ${itemsTable(context, 'Total')}
      ${note(`The offer ends ${e(deadline)}. If the button does not work, paste this link into your browser: ${e(offer.checkoutUrl)}`)}`,
  });
  return { subject, text, html };
}

/**
 * The plain-text body every mail shares: the greeting, what happened (`opening`), the event,
 * the order's tickets, what the mail adds about them (`closing`), the signature.
 */
function textBody(context: OrderMailContext, opening: string[], closing: string[] = []): string {
  return [
    `Hello ${context.buyer.name},`,
    '',
    ...opening,
    '',
    ...eventLines(context),
    '',
    ...itemLines(context),
    ...closing,
    ...signature(context),
  ].join('\n');
}

/** The HTML body's first paragraph: the greeting and what happened. */
function greeting({ buyer }: OrderMailContext, said: string): string {
  return paragraph(`Hello ${e(buyer.name)}, ${e(said)}`);
}

function eventLines({ event, timeZone }: OrderMailContext): string[] {
  return [
    `Event: ${event.name}`,
    `When:  ${formatWhen(event.startsAt, timeZone)}`,
    `Where: ${event.venue}`,
  ];
}

function itemLines({ items, order }: OrderMailContext): string[] {
  return [
    `Order ${order.id}`,
    ...items.map(
      (item) =>
        `  ${item.ticketTypeName}, ${item.label}: ${formatAmount(item.price, order.currency)}`,
    ),
  ];
}

function signature({ shopName }: OrderMailContext): string[] {
  return ['', `${shopName}`, 'This is an automatic message about your order.'];
}

function paragraph(html: string): string {
  return `<p style="margin:0 0 16px;font:15px/1.55 ${FONT};color:${INK};">${html}</p>`;
}

function note(html: string): string {
  return `<p style="margin:24px 0 0;font:13px/1.5 ${FONT};color:${MUTED};">${html}</p>`;
}

function eventCard({ event, timeZone }: OrderMailContext): string {
  const row = (title: string, value: string) => `
    <tr>
      <td style="padding:4px 16px 4px 0;font:12px ${FONT};color:${MUTED};text-transform:uppercase;letter-spacing:1px;white-space:nowrap;" valign="top">${title}</td>
      <td style="padding:4px 0;font:600 15px ${FONT};color:${INK};">${value}</td>
    </tr>`;
  return `
    <table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="margin:8px 0 16px;background:#f6f4fb;border-left:4px solid ${ACCENT};border-radius:6px;">
      <tr><td style="padding:16px 20px;">
        <div style="font:700 20px ${FONT};color:${INK};padding-bottom:8px;">${e(event.name)}</div>
        <table role="presentation" cellpadding="0" cellspacing="0">
          ${row('When', e(formatWhen(event.startsAt, timeZone)))}
          ${row('Where', e(event.venue))}
        </table>
      </td></tr>
    </table>`;
}

function itemsTable({ items, order }: OrderMailContext, totalTitle: string): string {
  const cell = `padding:10px 0;border-bottom:1px solid ${LINE};font:14px ${FONT};color:${INK};`;
  const rows = items
    .map(
      (item) => `
      <tr>
        <td style="${cell}">${e(item.ticketTypeName)}</td>
        <td style="${cell}color:${MUTED};">${e(item.label)}</td>
        <td style="${cell}" align="right">${e(formatAmount(item.price, order.currency))}</td>
      </tr>`,
    )
    .join('');
  return `
    <table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="margin:8px 0 0;">
      <tr>
        <td colspan="3" style="padding:0 0 6px;font:12px ${FONT};color:${MUTED};text-transform:uppercase;letter-spacing:1px;">Order <span style="text-transform:none;letter-spacing:0;">${e(order.id)}</span></td>
      </tr>
      ${rows}
      <tr>
        <td colspan="2" style="padding:12px 0;font:700 15px ${FONT};color:${INK};">${e(totalTitle)}</td>
        <td align="right" style="padding:12px 0;font:700 15px ${FONT};color:${INK};">${e(formatAmount(order.totalAmount, order.currency))}</td>
      </tr>
    </table>`;
}

/** The frame every mail shares: a centred 600px card on a grey page, built from tables. */
function layout(
  { shopName, buyer }: OrderMailContext,
  { preheader, heading, body }: { preheader: string; heading: string; body: string },
): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${e(heading)}</title>
</head>
<body style="margin:0;padding:0;background:#f0eef5;">
<div style="display:none;max-height:0;overflow:hidden;opacity:0;">${e(preheader)}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f0eef5;">
  <tr><td align="center" style="padding:32px 12px;">
    <table role="presentation" width="600" cellpadding="0" cellspacing="0" style="max-width:600px;width:100%;">
      <tr><td style="padding:0 4px 16px;font:700 18px ${FONT};color:${ACCENT};letter-spacing:0.5px;">${e(shopName)}</td></tr>
      <tr><td style="background:#ffffff;border-radius:12px;padding:32px 32px 28px;box-shadow:0 1px 3px rgba(29,29,41,0.08);">
        <h1 style="margin:0 0 20px;font:700 26px/1.25 ${FONT};color:${INK};">${e(heading)}</h1>
        ${body}
      </td></tr>
      <tr><td style="padding:20px 8px;font:12px/1.5 ${FONT};color:${MUTED};" align="center">
        Sent by ${e(shopName)} to ${e(buyer.email)} about your order. This is an automatic message.
      </td></tr>
    </table>
  </td></tr>
</table>
</body>
</html>`;
}
