import type Redis from 'ioredis';
import { Client, type Pool } from 'pg';
import { ensureBuilt } from '../support/processes';
import { RedisServer } from '../support/redis-server';
import { AppProcess } from './support/app-process';
import { PgCluster } from './support/pg-cluster';
import { profile } from './support/profile';
import { expectRecovery } from './support/scenario';
import { type Buyer, CHECKER_APPLICATION, checkerPool, createBuyers } from './support/world';

/**
 * PostgreSQL faults during a booking storm, on a cluster the suite owns: the app answers
 * 503 fast while the database is away, recovers by itself when it is back, and leaves
 * nothing half-written (every hold in PostgreSQL matches a 201, the counts add up).
 */
describe('chaos: PostgreSQL faults during a booking storm', () => {
  let cluster: PgCluster;
  let redis: RedisServer;
  let control: Redis;
  let app: AppProcess;
  let db: Pool;
  let admin: Buyer;
  let buyers: Buyer[];

  beforeAll(async () => {
    await ensureBuilt();
    cluster = await PgCluster.create();
    const setup = new Client({ connectionString: cluster.url() });
    await setup.connect();
    await setup.query('CREATE DATABASE tickets');
    await setup.end();
    db = checkerPool(cluster.url('tickets'));
    redis = await RedisServer.start();
    control = redis.client();
    await control.connect();
    app = await AppProcess.start({
      DATABASE_URL: cluster.url('tickets'),
      REDIS_URL: redis.url,
      HOLD_SECONDS: '8',
    });
    [admin] = await createBuyers(db, 1, 'admin');
    buyers = await createBuyers(db, profile.buyers);
  }, 180_000);

  afterAll(async () => {
    await app?.stop();
    await db?.end();
    control?.disconnect();
    await redis?.stop();
    await cluster?.destroy();
  });

  const world = () => ({ url: app.url, db, admin, buyers, redis: control });

  it("pg_terminate_backend of the app's connections mid-storm", async () => {
    let terminated = 0;
    await expectRecovery(
      'postgres pg_terminate_backend',
      async () => {
        const { rows } = await db.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
           WHERE datname = 'tickets' AND application_name <> $1 AND pid <> pg_backend_pid()`,
          [CHECKER_APPLICATION],
        );
        await db.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [
          rows.map((row) => row.pid),
        ]);
        terminated = rows.length;
      },
      world(),
    );
    expect(terminated).toBeGreaterThan(0);
  });

  it(`an outage of the cluster mid-storm, recovered without restarting the app`, async () => {
    const result = await expectRecovery(
      `postgres down ${profile.postgresOutageMs / 1000} s`,
      async () => {
        const downAt = Date.now();
        await cluster.stop();
        // The outage lasts its length while the storm goes on.
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, downAt + profile.postgresOutageMs - Date.now())),
        );
        await cluster.start();
      },
      world(),
    );
    expect(result.outcomes.some((outcome) => outcome.status === 503)).toBe(true);
    // The same process serves again: ready, and the health check agrees.
    const ready = await fetch(`${app.url}/health/ready`);
    expect(ready.status).toBe(200);
  });
});
