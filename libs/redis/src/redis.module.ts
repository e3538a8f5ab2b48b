import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { InjectRedis, RedisModule as IoRedisModule } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import { reportConnectionState } from './connection-state';

const REDIS_URL = Symbol('REDIS_URL');

/**
 * Waits (briefly) for the first connection, so early requests do not fail on a connection
 * that is still being made, and says once when there is no Redis at all. At shutdown, closes
 * the client itself: the library's QUIT fails on a client that is not connected (which then
 * keeps reconnecting and holds the process open), and the library forgets its connections
 * once any app in the process has closed.
 */
@Injectable()
class RedisStartup implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');

  constructor(
    @Inject(REDIS_URL) private readonly url: string | undefined,
    @Optional() @InjectRedis() private readonly redis?: Redis,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.redis) {
      this.logger.warn(
        'REDIS_URL is not set: single-instance mode (in-process ticket locks and rate limits). ' +
          'Run only one instance of the server this way.',
      );
      return;
    }
    const redis = reportConnectionState(this.redis, this.logger, 'The shared connection');
    const ready = new Promise<boolean>((resolve) => {
      if (redis.status === 'ready') return resolve(true);
      redis.once('ready', () => resolve(true));
      setTimeout(() => resolve(false), 2000).unref();
    });
    if (!(await ready)) this.logger.error(`Redis at ${redactUrl(this.url)} is not reachable yet`);
  }

  async onApplicationShutdown(): Promise<void> {
    const redis = this.redis;
    if (!redis || redis.status === 'end') return;
    if (redis.status !== 'ready') return redis.disconnect();
    // The library's own QUIT, if it still knows this client, then fails harmlessly.
    await redis.quit().catch(() => undefined);
  }
}

function redactUrl(url: string | undefined): string {
  return (url ?? '').replace(/\/\/[^@/]*@/, '//***@');
}

/** Redis when REDIS_URL is set; nothing otherwise (consumers inject it as optional). */
@Global()
@Module({})
export class RedisModule {
  static forRoot(url: string | undefined): DynamicModule {
    return {
      module: RedisModule,
      imports: url
        ? [
            IoRedisModule.forRoot({
              type: 'single',
              url,
              options: {
                // Fail fast instead of queueing while Redis is away: callers answer 503 at
                // once and PostgreSQL stays the source of truth.
                enableOfflineQueue: false,
                connectTimeout: 1000,
                commandTimeout: 1000,
                maxRetriesPerRequest: 1,
                retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
                // Commands issued in the same tick go out in one write: during an on-sale
                // hundreds of claims share a syscall instead of paying one each.
                enableAutoPipelining: true,
              },
            }),
          ]
        : [],
      providers: [{ provide: REDIS_URL, useValue: url }, RedisStartup],
    };
  }
}
