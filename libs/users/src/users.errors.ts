import { DomainError } from '@app/common';

export class EmailTakenError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'user.email_taken';
  constructor() {
    super('An account with this email address already exists.');
  }
}
