export * from './checkout-session-expiry.job';
export * from './order-refunds';
export * from './owed-refund.job';
export * from './payment-provider';
export * from './payments.errors';
export * from './payments.module';
