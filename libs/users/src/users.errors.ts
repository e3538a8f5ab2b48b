import { DomainError } from '@app/common';

export class EmailTakenError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'user.email_taken';
  constructor() {
    super('An account with this email address already exists.');
  }
}

export class UnknownUserError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'user.not_found';
  constructor(email: string) {
    super(`No user has the email address ${email}.`);
  }
}
