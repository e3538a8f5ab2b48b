import type { PaymentNotification } from '@app/outbox';

/** The mails a buyer can get about an order, each at most once (sent_notifications). */
export type OrderMailKind =
  | 'confirmed'
  | 'payment_failed'
  | 'hold_expired'
  | 'refunded'
  | 'event_cancelled'
  | 'waitlist_offer';

export const MAIL_KIND_OF: Record<PaymentNotification['type'], OrderMailKind> = {
  succeeded: 'confirmed',
  failed: 'payment_failed',
  expired: 'hold_expired',
  refunded: 'refunded',
  event_cancelled: 'event_cancelled',
  waitlist_offer: 'waitlist_offer',
};
