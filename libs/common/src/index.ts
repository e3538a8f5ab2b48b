export * from './domain-error';
export * from './interval-job';
export * from './pagination';
export * from './problem-details';
export * from './row-backoff';
export * from './startup-error';
export * from './long-request';
