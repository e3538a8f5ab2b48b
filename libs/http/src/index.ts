export * from './long-request';
export * from './pagination';
export * from './problem-details';
export * from './public';
export * from './verified-body-route';
