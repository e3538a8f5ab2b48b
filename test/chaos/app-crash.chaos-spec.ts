import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { StripeFake } from '../fakes/stripe-server';
import { ensureBuilt } from '../support/processes';
import { RedisServer } from '../support/redis-server';
import { AppProcess } from './support/app-process';
import { Payer, stripeFakeSettings } from './support/payer';
import { inFullProfile, profile } from './support/profile';
import { waitForHoldsToEnd } from './support/recovery';
import { stormAround } from './support/scenario';
import { type Buyer, chaosDatabase, createBuyers, createEvent } from './support/world';

/** Holds short enough that every one of them ends within the scenario. */
const HOLD_SECONDS = 6;
const TWO_INSTANCES = 'two instances, all jobs in both';

/**
 * The app itself failing: SIGKILL mid-storm and started again, and two instances on the
 * same PostgreSQL and Redis with every job running in both. Buyers pay while the storm
 * goes on; afterwards every hold has ended, no ticket stays locked, and every order
 * "Stripe" took money for is confirmed or refunded.
 */
describe('chaos: the app crashes, or runs twice', () => {
  let redis: RedisServer;
  let control: Redis;
  let fake: StripeFake;
  let db: Pool;
  let databaseUrl: string;
  let admin: Buyer;
  let buyers: Buyer[];
  const apps: AppProcess[] = [];

  const startApp = async () => {
    const app = await AppProcess.start({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      HOLD_SECONDS: String(HOLD_SECONDS),
      ...stripeFakeSettings(fake),
    });
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    await ensureBuilt();
    redis = await RedisServer.start();
    control = redis.client();
    await control.connect();
    fake = await StripeFake.start();
    ({ url: databaseUrl, db } = await chaosDatabase('crash'));
    await startApp();
    [admin] = await createBuyers(db, 1, 'admin');
    buyers = await createBuyers(db, profile.buyers);
  }, 180_000);

  afterAll(async () => {
    for (const app of apps) await app.kill();
    await fake?.close();
    control?.disconnect();
    await redis?.stop();
    await db?.end();
  });

  const paidStorm = async (fault: string, urls: string[], inject: () => Promise<void>) => {
    const event = await createEvent(urls[0], admin, [1500, 1500]);
    const payer = new Payer(fake, urls);
    let created = 0;
    const result = await stormAround(fault, {
      urls,
      db,
      event,
      buyers,
      redis: control,
      inject,
      allowNoAnswer: true,
      // Every third buyer pays while the storm goes on.
      onCreated: (order) => (++created % 3 === 0 ? payer.pay(order) : undefined),
      extraChecks: async () => [
        ...(await payer.settle()),
        ...(await waitForHoldsToEnd(db, [event.id], (HOLD_SECONDS + 15) * 1000)),
      ],
      paidOrderIds: () => payer.paidOrderIds,
    });
    expect(payer.paidOrderIds.length).toBeGreaterThan(0);
    expect(result.violations).toEqual([]);
    expect(result.line.recoveryMs).not.toBeNull();
    return result;
  };

  it('SIGKILL mid-storm, then started again: holds end, paid orders are kept', async () => {
    const [app] = apps;
    let downMs = 0;
    const { outcomes } = await paidStorm('app SIGKILL + restart', [app.url], async () => {
      const killedAt = Date.now();
      await app.kill();
      await app.start();
      downMs = Date.now() - killedAt;
    });
    process.stdout.write(`chaos: the app was down ${downMs} ms (killed until ready again)\n`);
    // The crash cut requests in flight or refused new ones.
    expect(outcomes.some((outcome) => outcome.status === 0)).toBe(true);
  });

  // Full profile only: npm test's short profile keeps to the crash.
  if (inFullProfile(TWO_INSTANCES)) {
    it('two instances on one PostgreSQL and Redis, every job in both', async () => {
      const second = await startApp();
      await paidStorm(TWO_INSTANCES, [apps[0].url, second.url], () => Promise.resolve());
    });
  }
});
