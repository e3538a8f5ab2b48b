import type { Logger } from '@nestjs/common';
import type Redis from 'ioredis';

/**
 * Says once when a connection is lost and once when it is back. Without an `error`
 * listener ioredis prints a raw stack to stderr on every reconnection attempt.
 */
export function reportConnectionState(redis: Redis, logger: Logger, what: string): Redis {
  let lost = false;
  redis.on('error', (error: Error) => {
    if (lost) return;
    lost = true;
    logger.warn(`${what} lost Redis: ${error.message}`);
  });
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger.log(`${what} reconnected to Redis`);
  });
  return redis;
}
