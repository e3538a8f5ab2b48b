export * from './availability-broadcaster';
export * from './availability.gateway';
export * from './realtime.module';
export * from './socket-io.adapter';
