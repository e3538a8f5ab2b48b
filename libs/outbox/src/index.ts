export * from './outbox';
export * from './outbox-message';
