import Redis from 'ioredis';
import { freshDatabase } from './fresh-database';

/** Once per `npm test`: a test database with an empty schema, and an empty Redis test db. */
export default async function globalSetup(): Promise<void> {
  await freshDatabase(
    new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tickets_test'),
  );
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/1');
  await redis.flushdb();
  redis.disconnect();
}
