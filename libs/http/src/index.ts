export * from './long-request';
export * from './pagination';
export * from './problem-details';
export * from './verified-body-route';
