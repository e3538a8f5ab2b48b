export * from './domain-error';
export * from './email';
export * from './interval-job';
export * from './row-backoff';
export * from './startup-error';
