import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { ensureBuilt } from '../support/processes';
import { RedisServer } from '../support/redis-server';
import { AppProcess } from './support/app-process';
import { inProfile, profile } from './support/profile';
import { expectRecovery } from './support/scenario';
import { type Buyer, chaosDatabase, createBuyers } from './support/world';

/**
 * Redis faults during a booking storm: bookings answer 201, 409 or a fast 503 with
 * Retry-After, never oversell, and the lock state is rebuilt from PostgreSQL afterwards.
 */
describe('chaos: Redis faults during a booking storm', () => {
  let redis: RedisServer;
  let control: Redis;
  let app: AppProcess;
  let db: Pool;
  let admin: Buyer;
  let buyers: Buyer[];

  beforeAll(async () => {
    await ensureBuilt();
    redis = await RedisServer.start(['--enable-debug-command', 'yes']);
    control = redis.client();
    await control.connect();
    const database = await chaosDatabase('redis');
    db = database.db;
    app = await AppProcess.start({
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      // Holds end during the storm, so the expiry job releases into the faulty store too.
      HOLD_SECONDS: '8',
    });
    [admin] = await createBuyers(db, 1, 'admin');
    buyers = await createBuyers(db, profile.buyers);
  }, 180_000);

  afterAll(async () => {
    await app?.stop();
    control?.disconnect();
    await redis?.stop();
    await db?.end();
  });

  const faults: [string, () => Promise<void>][] = [
    [
      'redis FLUSHALL',
      async () => {
        await control.flushall();
      },
    ],
    [
      'redis restart',
      async () => {
        await redis.stop();
        await redis.start();
        await control.connect().catch(() => undefined);
      },
    ],
    [
      'redis CLIENT PAUSE 5 s',
      async () => {
        const pausedAt = Date.now();
        await control.call('CLIENT', 'PAUSE', String(profile.redisFaultMs), 'ALL');
        await holdFaultFor5s(pausedAt);
      },
    ],
    [
      'redis DEBUG SLEEP 5 s',
      async () => {
        // The sleeping server answers this one when it wakes up.
        const sleeper = redis.client();
        await sleeper.connect();
        try {
          await sleeper.call('DEBUG', 'SLEEP', String(profile.redisFaultMs / 1000));
        } finally {
          sleeper.disconnect();
        }
      },
    ],
    [
      'redis killed 5 s',
      async () => {
        await redis.stop();
        await holdFaultFor5s(Date.now());
        await redis.start();
        await control.connect().catch(() => undefined);
      },
    ],
  ];

  it.each(inProfile(faults, ['redis FLUSHALL', 'redis killed 5 s']))(
    '%s mid-storm',
    async (fault, inject) => {
      const { outcomes } = await expectRecovery(fault, inject, {
        url: app.url,
        db,
        admin,
        buyers,
        redis: control,
      });
      if (fault !== 'redis FLUSHALL' && fault !== 'redis restart') {
        // Redis was away for seconds: some bookings were refused, fast, with 503.
        expect(outcomes.some((outcome) => outcome.status === 503)).toBe(true);
      }
    },
  );
});

/** The fault lasts redisFaultMs from `since` while the storm goes on. */
async function holdFaultFor5s(since: number): Promise<void> {
  const left = since + profile.redisFaultMs - Date.now();
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
}
