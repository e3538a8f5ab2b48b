import { DomainError } from '@app/common';

export class SoldOutError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'booking.sold_out';
  constructor(readonly available: number) {
    super(
      available === 0
        ? 'This ticket type is sold out.'
        : `Only ${available} ticket(s) of this type are available.`,
    );
  }
}

export class TicketsUnavailableError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'booking.tickets_unavailable';
  constructor(readonly ticketIds: string[]) {
    super(`These tickets are not available: ${ticketIds.join(', ')}.`);
  }
}

export class InventoryUnavailableError extends DomainError {
  readonly kind = 'unavailable';
  readonly code = 'booking.inventory_unavailable';
  override readonly retryAfterSeconds = 2;
  constructor() {
    super('Ticket inventory is briefly unavailable; nothing was held. Try again in a moment.');
  }
}

export class BookingRateLimitedError extends DomainError {
  readonly kind = 'rate_limited';
  readonly code = 'booking.rate_limited';
  constructor(override readonly retryAfterSeconds: number) {
    super(`Too many bookings for this event; try again in ${retryAfterSeconds} s.`);
  }
}
