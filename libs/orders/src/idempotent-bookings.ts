import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';
import { TicketsUnavailableError } from '@app/tickets';
import type { Order } from './order.entity';
import type { OrderView } from './orders.dto';
import { AlreadyHoldingError, IdempotencyKeyReusedError } from './orders.errors';
import { OrderViews } from './order-views';

export type BookingRequest = {
  userId: string;
  eventId: string;
  idempotencyKey?: string;
} & ({ ticketTypeId: string; quantity: number } | { ticketIds: string[] });

const IDEMPOTENCY_WINDOW = `interval '24 hours'`;

/**
 * The Idempotency-Key of bookings: the same key from the same user within 24 h answers with
 * the same order (409 with a different body); an older key is unbound and may be used again.
 */
@Injectable()
export class IdempotentBookings {
  constructor(
    private readonly dataSource: DataSource,
    private readonly views: OrderViews,
  ) {}

  /** Runs `book` (given the request's hash, stored with the order) unless a retry's order answers. */
  async once(
    request: BookingRequest,
    book: (requestHash: string | null) => Promise<OrderView>,
  ): Promise<OrderView> {
    const key = request.idempotencyKey;
    if (!key) return book(null);
    const requestHash = hashRequest(request);
    const previous = await this.previousOrder(request.userId, key, requestHash);
    if (previous) return previous;
    try {
      return await book(requestHash);
    } catch (error) {
      // Two retries of one request raced: the loser answers with the winner's order. While
      // that order is pending the loser hits the one-pending-order-per-buyer index (checked
      // before the idempotency key's), or — booking explicit ids — finds them claimed by the
      // winner; if the winner has committed by now, its order is the answer.
      if (
        error instanceof AlreadyHoldingError ||
        error instanceof TicketsUnavailableError ||
        violates(error, 'orders_idempotency_key')
      ) {
        const winner = await this.previousOrder(request.userId, key, requestHash);
        if (winner) return winner;
      }
      throw error;
    }
  }

  /** The order an earlier request with this key made (within 24 h), if any. */
  private async previousOrder(
    userId: string,
    key: string,
    requestHash: string,
  ): Promise<OrderView | undefined> {
    const [previous]: (Order & { requestHash: string })[] = await this.dataSource.query(
      `SELECT id, user_id AS "userId", event_id AS "eventId", status, quantity,
              total_amount::float8 AS "totalAmount", currency, expires_at AS "expiresAt",
              created_at AS "createdAt", updated_at AS "updatedAt", request_hash AS "requestHash"
       FROM orders WHERE user_id = $1 AND idempotency_key = $2 AND created_at > now() - ${IDEMPOTENCY_WINDOW}`,
      [userId, key],
    );
    if (!previous) {
      await this.unbind(userId, key);
      return undefined;
    }
    if (previous.requestHash !== requestHash) throw new IdempotencyKeyReusedError();
    const [view] = await this.views.of([previous]);
    return view;
  }

  /** A key older than the window may be used again: unbind it from its old order. */
  private async unbind(userId: string, key: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE orders SET idempotency_key = NULL, request_hash = NULL
       WHERE user_id = $1 AND idempotency_key = $2 AND created_at <= now() - ${IDEMPOTENCY_WINDOW}`,
      [userId, key],
    );
  }
}

function hashRequest(request: BookingRequest): string {
  const what =
    'ticketIds' in request
      ? { eventId: request.eventId, ticketIds: [...request.ticketIds].sort() }
      : {
          eventId: request.eventId,
          ticketTypeId: request.ticketTypeId,
          quantity: request.quantity,
        };
  return createHash('sha256').update(JSON.stringify(what)).digest('base64url');
}

/** Whether a query failed on this constraint (through TypeORM or straight from pg). */
export function violates(error: unknown, constraint: string): boolean {
  const cause: unknown = error instanceof QueryFailedError ? error.driverError : error;
  return (cause as { constraint?: string } | undefined)?.constraint === constraint;
}
