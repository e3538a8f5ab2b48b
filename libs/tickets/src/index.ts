export * from './event-availability';
export * from './inventory-reconcile.job';
export * from './lock/ticket-lock.service';
export * from './ticket-inventory';
export * from './ticket-pool';
export * from './tickets.errors';
export * from './tickets.module';
