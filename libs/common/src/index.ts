export * from './domain-error';
export * from './email';
export * from './escape-html';
export * from './format-when';
export * from './interval-job';
export * from './row-backoff';
export * from './row-by-row-job';
export * from './startup-error';
