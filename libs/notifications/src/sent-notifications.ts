import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { OrderMailKind } from './order-mail-kind';

/** A claimed mail, leased by one sender while it talks to the mail server. */
export interface MailClaim {
  id: string;
  orderId: string;
  kind: OrderMailKind;
}

/** Long enough for any send; a sender that died mid-send gives the mail back after it. */
const LEASE = `interval '5 minutes'`;

/**
 * The one owner of `sent_notifications`: a row per order and kind is the claim to send that
 * mail (taken once, whatever is redelivered) and then the record of what was sent.
 */
@Injectable()
export class SentNotifications {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Claims the mail; null when it was claimed before (a redelivered message) or is not owed:
   * an expiry is only mailed when the buyer had opened the checkout link, and a refund of a
   * cancelled event is told by the cancellation mail.
   */
  async claim(orderId: string, kind: OrderMailKind, outboxId: string): Promise<MailClaim | null> {
    const [claim]: MailClaim[] = await this.dataSource.query(
      `INSERT INTO sent_notifications (order_id, kind, outbox_id)
       SELECT o.id, $2::text, $3::bigint FROM orders o JOIN events e ON e.id = o.event_id
       WHERE o.id = $1
         AND ($2::text <> 'hold_expired' OR o.checkout_session_id IS NOT NULL)
         AND ($2::text <> 'refunded' OR e.status <> 'cancelled')
       ON CONFLICT (order_id, kind) DO NOTHING
       RETURNING id, order_id AS "orderId", kind`,
      [orderId, kind, outboxId],
    );
    return claim ?? null;
  }

  /**
   * Leases up to `limit` pending mails, oldest first, that `dueSql` allows (the job's
   * backoff), skipping rows another sender holds; or, with `id`, that one mail.
   */
  async lease({
    limit,
    dueSql,
    id,
  }: {
    limit: number;
    dueSql: string;
    id?: string;
  }): Promise<MailClaim[]> {
    return this.dataSource.query(
      `WITH leased AS (
         UPDATE sent_notifications n SET leased_until = now() + ${LEASE}
         WHERE n.id IN (
           SELECT s.id FROM sent_notifications s
           WHERE s.status = 'pending' AND (s.leased_until IS NULL OR s.leased_until < now())
             AND ($2::uuid IS NULL OR s.id = $2) AND ${dueSql}
           ORDER BY s.created_at LIMIT $1
           FOR UPDATE SKIP LOCKED)
         RETURNING n.id, n.order_id, n.kind, n.created_at)
       SELECT id, order_id AS "orderId", kind FROM leased ORDER BY created_at`,
      [limit, id ?? null],
    );
  }

  async markSent(
    id: string,
    sent: { recipient: string; subject: string; messageId: string },
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE sent_notifications
       SET status = 'sent', sent_at = now(), leased_until = NULL,
           recipient = $2, subject = $3, message_id = $4
       WHERE id = $1`,
      [id, sent.recipient, sent.subject, sent.messageId],
    );
  }

  async markSkipped(id: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE sent_notifications SET status = 'skipped', leased_until = NULL WHERE id = $1`,
      [id],
    );
  }

  /** Gives leased mails that were not sent back, for a later pass. */
  async release(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.dataSource.query(
      `UPDATE sent_notifications SET leased_until = NULL WHERE id = ANY($1::uuid[]) AND status = 'pending'`,
      [ids],
    );
  }
}
