import { escapeHtml } from '@app/common';
import { formatAmount } from './format-amount';
import {
  eventCancelledMail,
  orderConfirmedMail,
  waitlistOfferMail,
  type OrderMailContext,
} from './mail-templates';

const context: OrderMailContext = {
  shopName: 'Shop & <Co>',
  timeZone: 'UTC',
  buyer: { name: '<img src=x onerror=alert(1)>', email: 'buyer@example.com' },
  order: { id: 'order-1', quantity: 2, totalAmount: 8500, currency: 'eur' },
  event: { name: 'Rock "&" Roll', venue: "O'Hall", startsAt: new Date('2030-06-01T19:30:00Z') },
  items: [
    { ticketTypeName: 'Stalls <front>', label: 'A-1', price: 4250 },
    { ticketTypeName: 'Stalls <front>', label: 'A-2', price: 4250 },
  ],
};

describe('mail templates', () => {
  it('formats amounts by the currency', () => {
    expect(formatAmount(8500, 'eur')).toBe('€85.00');
    expect(formatAmount(1200, 'jpy')).toBe('JP¥1,200');
    expect(formatAmount(1500, 'kwd')).toBe('KWD\u00a01.500');
  });

  it('escapes every user-provided string in the HTML, and keeps it plain in the text', () => {
    const mail = orderConfirmedMail(context, [
      { label: 'A-1"><script>', ticketTypeName: 'Stalls <front>', cid: 'qr-1@tickets' },
    ]);
    expect(mail.html).not.toMatch(/<img src=x|<script>|<front>|<Co>/);
    expect(mail.html).toContain(escapeHtml(context.buyer.name));
    expect(mail.html).toContain('Rock &quot;&amp;&quot; Roll');
    expect(mail.html).toContain('O&#39;Hall');
    expect(mail.html).toContain('src="cid:qr-1@tickets"');
    expect(mail.text).toContain('Rock "&" Roll');
    expect(mail.text).toContain('Stalls <front>, A-1: €42.50');
    expect(mail.subject).toBe('Your tickets for Rock "&" Roll');
  });

  it('says whether a cancelled event owes a refund', () => {
    expect(eventCancelledMail(context, true).text).toContain('Your refund of €85.00 is on its way');
    expect(eventCancelledMail(context, false).text).toContain('no money was taken');
  });

  it('gives the waitlist offer its link and deadline, the link escaped in the HTML', () => {
    const mail = waitlistOfferMail(context, {
      checkoutUrl: 'https://shop.test/api/v1/payments/checkout/o?token=a&b',
      expiresAt: new Date('2030-05-01T12:00:00Z'),
    });
    expect(mail.text).toContain('Pay here: https://shop.test/api/v1/payments/checkout/o?token=a&b');
    expect(mail.html).toContain(
      'href="https://shop.test/api/v1/payments/checkout/o?token=a&amp;b"',
    );
    expect(mail.text).toContain('Wed, 1 May 2030 at 12:00 (UTC)');
  });
});
