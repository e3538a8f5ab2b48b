import { DomainError } from '@app/common';

export class UnknownUserError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'user.not_found';
  constructor(email: string) {
    super(`No user has the email address ${email}.`);
  }
}
