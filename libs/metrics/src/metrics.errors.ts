import { DomainError } from '@app/common';

export class MetricsTokenRequiredError extends DomainError {
  readonly kind = 'unauthenticated';
  readonly code = 'metrics.token_required';
  constructor() {
    super('The metrics need the bearer token this server was configured with.');
  }
}
