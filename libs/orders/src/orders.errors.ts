import { DomainError } from '@app/common';

export class OrderNotFoundError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'order.not_found';
  constructor() {
    super('There is no such order.');
  }
}

export class EventNotBookableError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'booking.event_not_bookable';
  constructor() {
    super('This event is cancelled or has already started.');
  }
}

export class TooManyTicketsError extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'booking.too_many_tickets';
  constructor(max: number) {
    super(`At most ${max} tickets can be booked in one order for this event.`);
  }
}

export class UnknownTicketsError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'booking.unknown_tickets';
  constructor(ticketIds: string[]) {
    super(`This event has no tickets with these ids: ${ticketIds.join(', ')}.`);
  }
}

export class AlreadyHoldingError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'booking.already_holding';
  constructor() {
    super('You already hold tickets for this event: pay for or cancel that order first.');
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'booking.idempotency_key_reused';
  constructor() {
    super('This Idempotency-Key was already used with a different request.');
  }
}

export class BookingContendedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'booking.contended';
  constructor() {
    super('The tickets were taken by other buyers while booking; nothing is held. Try again.');
  }
}

export class OrderNotCancellableError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'order.not_cancellable';
  constructor(reason: string) {
    super(reason);
  }
}

export class InvalidIdempotencyKeyError extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'booking.invalid_idempotency_key';
  override readonly fieldErrors = [
    { field: 'Idempotency-Key', message: 'Idempotency-Key must be 1 to 128 characters' },
  ];
  constructor() {
    super('The Idempotency-Key header must be 1 to 128 characters.');
  }
}
