import { DomainError } from '@app/common';

export class WaitlistTicketsAvailableError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'waitlist.tickets_available';
  constructor(available: number) {
    super(`${available} ticket(s) of this type are available: book them instead.`);
  }
}

export class WaitlistEntryOpenError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'waitlist.already_waiting';
  constructor() {
    super('You already have an open waitlist entry for this ticket type.');
  }
}

export class WaitlistEventClosedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'waitlist.event_closed';
  constructor() {
    super('This event is cancelled or over: it has no waitlist.');
  }
}

export class WaitlistQuantityTooLargeError extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'waitlist.quantity_too_large';
  override readonly fieldErrors: { field: string; message: string }[];
  constructor(max: number) {
    super(`This event sells at most ${max} tickets per order.`);
    this.fieldErrors = [{ field: 'quantity', message: `must not be greater than ${max}` }];
  }
}

export class WaitlistEntryNotFoundError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'waitlist.entry_not_found';
  constructor() {
    super('You have no such waitlist entry.');
  }
}

export class WaitlistEntryClosedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'waitlist.entry_closed';
  constructor(status: string) {
    super(`A ${status} waitlist entry cannot be left.`);
  }
}
