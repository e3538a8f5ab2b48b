export * from './event-catalog';
export * from './event.entity';
export * from './event-orders';
export * from './events.errors';
export * from './events.module';
