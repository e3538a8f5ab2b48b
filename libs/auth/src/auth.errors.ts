import { DomainError } from '@app/common';

export class InvalidCredentialsError extends DomainError {
  readonly kind = 'unauthenticated';
  readonly code = 'auth.invalid_credentials';
  constructor() {
    // One message for an unknown email and a wrong password, so accounts cannot be probed.
    super('The email address or the password is wrong.');
  }
}

export class TooManyLoginFailuresError extends DomainError {
  readonly kind = 'rate_limited';
  readonly code = 'auth.too_many_failures';
  constructor(override readonly retryAfterSeconds: number) {
    super('Too many failed logins for this email address; try again later.');
  }
}
