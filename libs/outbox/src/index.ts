export * from './availability-counts';
export * from './consumed-messages';
export * from './consumer-groups';
export * from './message-bus';
export * from './outbox';
export * from './outbox-message';
export * from './outbox-relay.job';
export * from './outbox.module';
