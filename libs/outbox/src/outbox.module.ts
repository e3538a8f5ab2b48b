import { Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import type { Environment } from '@app/config';
import { ConsumedMessages } from './consumed-messages';
import { InProcessMessageBus } from './in-process-bus';
import { MessageBus } from './message-bus';
import { OutboxRelayJob } from './outbox-relay.job';
import { RedisStreamBus } from './redis-stream-bus';

/** Redis Streams with REDIS_URL; otherwise the in-process bus (one instance only). */
export function createMessageBus(
  config: ConfigService<Environment, true>,
  redis?: Redis,
): MessageBus {
  if (!redis) {
    new Logger('MessageBus').warn(
      'REDIS_URL is not set: outbox messages go through an in-process bus',
    );
    return new InProcessMessageBus();
  }
  return new RedisStreamBus(redis, {
    maxLength: config.get('OUTBOX_STREAM_MAXLEN', { infer: true }),
    claimIdleMs: config.get('OUTBOX_CLAIM_IDLE_MS', { infer: true }),
  });
}

@Module({
  providers: [
    {
      provide: MessageBus,
      inject: [ConfigService, { token: getRedisConnectionToken(), optional: true }],
      useFactory: createMessageBus,
    },
    ConsumedMessages,
    OutboxRelayJob,
  ],
  exports: [MessageBus, ConsumedMessages, OutboxRelayJob],
})
export class OutboxModule {}
