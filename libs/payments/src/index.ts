export * from './checkout-session-expiry.job';
export * from './owed-refund.job';
export * from './payment-provider';
export * from './payments.errors';
export * from './payments.module';
