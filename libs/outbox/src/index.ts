export * from './availability-counts';
export * from './consumed-messages';
export * from './message-bus';
export * from './outbox';
export * from './outbox-message';
export * from './outbox-relay';
export * from './outbox.module';
