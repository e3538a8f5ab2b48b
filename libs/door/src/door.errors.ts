import { DomainError } from '@app/common';

export class TicketsNotIssuedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'order.not_confirmed';
  constructor() {
    super('Only a confirmed order has tickets.');
  }
}

/** Not signed by any of our keys, or not a code at all: as if no such ticket existed. */
export class UnknownCodeError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'check_in.unknown_code';
  constructor() {
    super('This is not a ticket code of ours.');
  }
}

export class AlreadyCheckedInError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'check_in.already_checked_in';
  override readonly extensions: { checkedInAt: string };
  constructor(checkedInAt: Date) {
    super(`This ticket was already checked in at ${checkedInAt.toISOString()}.`);
    this.extensions = { checkedInAt: checkedInAt.toISOString() };
  }
}

export class WrongEventError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'check_in.wrong_event';
  constructor() {
    super('This ticket is for another event.');
  }
}

export class RevokedTicketError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'check_in.revoked';
  constructor() {
    super('This ticket is no longer valid: its order was refunded or cancelled.');
  }
}
