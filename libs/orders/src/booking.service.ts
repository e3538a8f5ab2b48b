import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Environment } from '@app/config';
import {
  EventCatalog,
  EventNotFoundError,
  TicketTypeNotFoundError,
  type BookableEvent,
} from '@app/events';
import {
  groupByPool,
  TicketInventory,
  TicketLockService,
  TicketsUnavailableError,
  type BuyerClaim,
  type TicketPool,
} from '@app/tickets';
import { BookingGuard } from './booking-guard';
import { HoldBatcher, type HoldResult } from './hold-batcher';
import { IdempotentBookings, violates, type BookingRequest } from './idempotent-bookings';
import type { Order } from './order.entity';
import type { OrderView } from './orders.dto';
import {
  AlreadyHoldingError,
  BookingContendedError,
  EventNotBookableError,
  TooManyTicketsError,
  UnknownTicketsError,
} from './orders.errors';
import { OrderViews } from './order-views';

export type { BookingRequest } from './idempotent-bookings';

/** A quantity claim that PostgreSQL could not fully confirm is retried this many times. */
const MAX_CLAIM_ATTEMPTS = 3;

/** Some claimed ids were not available in PostgreSQL (the lock store was stale). */
class ClaimOutdated extends Error {
  constructor(readonly stillFree: string[]) {
    super('Claimed tickets were taken meanwhile');
  }
}

/**
 * Booking: hold tickets for a buyer for HOLD_SECONDS and answer with a payment link.
 *
 * 1. The event comes from a short-lived cache; its rules (on sale, not started, per-order
 *    maximum, known ticket type) are checked without a query.
 * 2. TicketLockService claims the ticket ids atomically in Redis (or in-process): a sold-out
 *    type is answered there, with no PostgreSQL query. The same atomic step counts the
 *    buyer's booking rate and refuses a buyer who holds (or is booking) another order of the
 *    event before taking any ticket (BookingGuard).
 * 3. One statement confirms the claimed ids by primary key with a conditional update
 *    (`status = 'available'`), then inserts the order — only if the event is still on sale
 *    and the buyer holds no other pending order for it — with its items and an outbox row;
 *    concurrent holds share that statement and its commit (HoldBatcher). Constraints
 *    make one pending order per buyer and event, and one order per idempotency key.
 * 4. Whatever fails after the claim gives the claimed ids that are still free back; ids
 *    PostgreSQL says are taken (a stale lock store) are dropped and a quantity is claimed
 *    again. So a 201 holds exactly its tickets and any error holds none.
 *
 * The payment provider is never called here: the link creates its checkout session later.
 */
@Injectable()
export class BookingService {
  private readonly holdSeconds: number;

  constructor(
    private readonly catalog: EventCatalog,
    private readonly idempotency: IdempotentBookings,
    private readonly guard: BookingGuard,
    private readonly holds: HoldBatcher,
    private readonly lock: TicketLockService,
    private readonly inventory: TicketInventory,
    private readonly views: OrderViews,
    config: ConfigService<Environment, true>,
  ) {
    this.holdSeconds = config.get('HOLD_SECONDS', { infer: true });
  }

  async book(request: BookingRequest): Promise<OrderView> {
    const event = await this.catalog.get(request.eventId);
    if (!event) throw new EventNotFoundError();
    if (event.status !== 'on_sale' || event.startsAt.getTime() <= Date.now())
      throw new EventNotBookableError();
    const count = 'ticketIds' in request ? request.ticketIds.length : request.quantity;
    if (count > event.maxTicketsPerOrder) throw new TooManyTicketsError(event.maxTicketsPerOrder);

    return this.guard.oneAtATime(event.id, request.userId, () =>
      this.idempotency.once(request, (requestHash) =>
        'ticketIds' in request
          ? this.bookTickets(event, request, request.ticketIds, requestHash)
          : this.bookQuantity(event, request, request.ticketTypeId, request.quantity, requestHash),
      ),
    );
  }

  private async bookQuantity(
    event: BookableEvent,
    request: BookingRequest,
    ticketTypeId: string,
    quantity: number,
    requestHash: string | null,
  ): Promise<OrderView> {
    if (!event.ticketTypeIds.has(ticketTypeId)) throw new TicketTypeNotFoundError();
    const pool = { eventId: event.id, ticketTypeId };
    const buyer = this.guard.newBooking(request.userId);
    for (let attempt = 1; ; attempt++) {
      // A claim again after a stale one is the same booking: its rate was counted.
      const claimant = attempt === 1 ? buyer : { ...buyer, ratePerMinute: 0 };
      const claimed = await this.guard.claim(event.id, claimant, (as) =>
        this.lock.claim(pool, quantity, event.startsAt, as),
      );
      try {
        return await this.hold(event, request, buyer, claimed, requestHash);
      } catch (error) {
        await this.giveBack([{ pool, ticketIds: claimed }], error);
        const retry = error instanceof ClaimOutdated && attempt < MAX_CLAIM_ATTEMPTS;
        if (retry) continue;
        await this.guard.bookingFailed(event.id, buyer, error);
        throw error instanceof ClaimOutdated ? new BookingContendedError() : error;
      }
    }
  }

  private async bookTickets(
    event: BookableEvent,
    request: BookingRequest,
    ticketIds: string[],
    requestHash: string | null,
  ): Promise<OrderView> {
    const found = await this.inventory.findInEvent(event.id, ticketIds);
    if (found.length < ticketIds.length) {
      const known = new Set(found.map((ticket) => ticket.id));
      throw new UnknownTicketsError(ticketIds.filter((id) => !known.has(id)));
    }
    const claims = groupByPool(found.map((ticket) => ({ ...ticket, eventId: event.id })));
    const buyer = this.guard.newBooking(request.userId);
    await this.guard.claim(event.id, buyer, (as) =>
      this.lock.claimTickets(claims, event.startsAt, as),
    );
    try {
      return await this.hold(event, request, buyer, ticketIds, requestHash);
    } catch (error) {
      await this.giveBack(claims, error);
      await this.guard.bookingFailed(event.id, buyer, error);
      if (error instanceof ClaimOutdated) {
        const free = new Set(error.stillFree);
        throw new TicketsUnavailableError(ticketIds.filter((id) => !free.has(id)));
      }
      throw error;
    }
  }

  /** Confirms the claimed ids in PostgreSQL and records the order (HoldBatcher.hold). */
  private async hold(
    event: BookableEvent,
    request: BookingRequest,
    { orderId }: BuyerClaim,
    ticketIds: string[],
    requestHash: string | null,
  ): Promise<OrderView> {
    const expiresAt = new Date(Date.now() + this.holdSeconds * 1000);
    let result: HoldResult;
    try {
      result = await this.holds.hold({
        orderId,
        expiresAt,
        ticketIds,
        eventId: event.id,
        userId: request.userId,
        idempotencyKey: request.idempotencyKey ?? null,
        requestHash,
      });
    } catch (error) {
      if (violates(error, 'orders_one_pending_per_buyer_key')) throw new AlreadyHoldingError();
      throw error;
    }
    if (!result.order) {
      // Ids missing from `free` are held in PostgreSQL: the lock store was stale (reloaded
      // under an in-flight booking). The others are still free.
      if (result.free.length < ticketIds.length)
        throw new ClaimOutdated(result.free.map((ticket) => ticket.id));
      if (result.alreadyHolding) throw new AlreadyHoldingError();
      throw new EventNotBookableError();
    }
    const order: Order = {
      ...result.order,
      expiresAt: new Date(result.order.expiresAt),
      createdAt: new Date(result.order.createdAt),
      updatedAt: new Date(result.order.updatedAt),
    };
    return this.views.view(order, result.free);
  }

  /** After a failed hold: every claimed id PostgreSQL still has free goes back, once. */
  private async giveBack(
    claims: { pool: TicketPool; ticketIds: string[] }[],
    error: unknown,
  ): Promise<void> {
    const free = error instanceof ClaimOutdated ? new Set(error.stillFree) : undefined;
    for (const { pool, ticketIds } of claims) {
      const back = free ? ticketIds.filter((id) => free.has(id)) : ticketIds;
      if (back.length > 0) await this.lock.release(pool, back);
    }
  }
}
