export * from './availability-broadcast.consumer';
export * from './availability.gateway';
export * from './realtime.module';
export * from './socket-io.adapter';
