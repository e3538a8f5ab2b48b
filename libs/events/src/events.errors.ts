import { DomainError } from '@app/common';

export class EventNotFoundError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'event.not_found';
  constructor() {
    super('There is no such event.');
  }
}

export class TicketTypeNotFoundError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'event.ticket_type_not_found';
  constructor() {
    super('This event has no such ticket type.');
  }
}

export class InvalidTicketTypesError extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'event.invalid_ticket_types';
  constructor(
    message: string,
    override readonly fieldErrors: { field: string; message: string }[],
  ) {
    super(message);
  }
}

export class TicketTypeNameTakenError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'event.ticket_type_name_taken';
  constructor(name: string) {
    super(`This event already has a ticket type named "${name}".`);
  }
}

export class QuantityBelowHeldError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'event.quantity_below_held';
  constructor(minimum: number) {
    super(`The quantity cannot go below ${minimum}: that many tickets are sold or held.`);
  }
}

export class CurrencyLockedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'event.currency_locked';
  constructor() {
    super('The currency cannot change once the event has orders.');
  }
}

export class EventCancelledError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'event.cancelled';
  constructor() {
    super('A cancelled event cannot be put back on sale: its orders were cancelled or refunded.');
  }
}

/** A price Stripe would refuse to charge: every checkout of it would fail. */
export class UnchargeablePriceError extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'event.price_not_chargeable';
  constructor(
    currency: string,
    override readonly fieldErrors: { field: string; message: string }[],
  ) {
    super(`Stripe cannot charge these prices in ${currency}.`);
  }
}
