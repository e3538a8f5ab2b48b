import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { OrderStatus } from '@app/orders';

/**
 * An order's checkout session columns (which session, its URL, whether the provider closed
 * it): not part of the order's status, written only here.
 */
@Injectable()
export class CheckoutSessions {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Stores the order's first checkout session; returns the stored one's URL and the order's
   * status (a later session loses to the first).
   */
  async store(
    orderId: string,
    session: { id: string; url: string },
  ): Promise<{ status: OrderStatus; checkoutSessionUrl: string }> {
    type Stored = { status: OrderStatus; checkoutSessionUrl: string };
    const stored: Stored[] = await this.dataSource.query(
      `WITH stored AS (
         UPDATE orders SET checkout_session_id = $2, checkout_session_url = $3
         WHERE id = $1 AND checkout_session_id IS NULL
         RETURNING status, checkout_session_url AS "checkoutSessionUrl"
       )
       SELECT * FROM stored`,
      [orderId, session.id, session.url],
    );
    if (stored.length > 0) return stored[0];
    const [current]: Stored[] = await this.dataSource.query(
      `SELECT status, checkout_session_url AS "checkoutSessionUrl" FROM orders WHERE id = $1`,
      [orderId],
    );
    return current;
  }

  /** The provider closed the session (completed or expired): nothing left to expire there. */
  async close(
    manager: Pick<EntityManager, 'query'>,
    orderId: string,
    sessionId: string,
  ): Promise<void> {
    await manager.query(
      `UPDATE orders SET checkout_session_closed_at = now()
       WHERE id = $1 AND checkout_session_id = $2 AND checkout_session_closed_at IS NULL`,
      [orderId, sessionId],
    );
  }
}
