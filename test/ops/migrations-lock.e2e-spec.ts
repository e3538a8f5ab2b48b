import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { freshDatabase } from '../support/fresh-database';
import { ROOT } from '../support/processes';
import { startTestApp, type TestApp } from '../support/test-app';

/** Several instances starting at once on a new database: one of them migrates, once. */
describe('migrations at start', () => {
  const apps: TestApp[] = [];
  afterAll(() => Promise.all(apps.map((app) => app.close())));

  it('runs each pending migration once when 4 instances start together on an empty database', async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `${url.pathname}_migrations`;
    await freshDatabase(url);
    // A failed start is retried by the TypeORM module, logging why: there must be none.
    const errors = jest.spyOn(Logger.prototype, 'error');

    const started = await Promise.allSettled(
      Array.from({ length: 4 }, () =>
        startTestApp({ DATABASE_URL: url.toString(), AUTH_RATE_LIMIT: '0' }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') apps.push(result.value);
    const logged = errors.mock.calls.map((call) => call.map(String).join(' '));
    errors.mockRestore();
    expect(logged).toEqual([]);
    expect(
      started.map((result) => (result.status === 'rejected' ? String(result.reason) : 'ok')),
    ).toEqual(['ok', 'ok', 'ok', 'ok']);

    const migrationFiles = readdirSync(join(ROOT, 'migrations')).filter((file) =>
      file.endsWith('.ts'),
    );
    const db = new Client({ connectionString: url.toString() });
    await db.connect();
    try {
      const { rows } = await db.query<{ name: string; times: string }>(
        `SELECT name, count(*) AS times FROM migrations GROUP BY name`,
      );
      expect(rows).toHaveLength(migrationFiles.length);
      rows.forEach((row) => expect(Number(row.times)).toBe(1));
      // Every instance works on the migrated schema.
      for (const app of apps) {
        await app.http().get('/health/ready').expect(200);
      }
    } finally {
      await db.end();
    }
  }, 120_000);
});
