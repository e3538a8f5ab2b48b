import { Client } from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';

/** The advisory lock every instance of this app takes to migrate (any fixed number). */
const MIGRATIONS_LOCK_KEY = 4_317_202_611;

/**
 * Initializes a data source like TypeORM's `migrationsRun` does, but with the pending
 * migrations run under a PostgreSQL advisory lock: instances starting together take turns,
 * and the ones after the first find nothing left to run. The lock is held by a connection
 * of its own (outside the pool, which migrations may need whole) and goes with it.
 */
export async function initializeWithLockedMigrations(
  options: DataSourceOptions,
): Promise<DataSource> {
  const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
  if (!options.migrationsRun) return dataSource;
  const lock = new Client({ connectionString: (options as { url: string }).url });
  try {
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATIONS_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: options.migrationsTransactionMode });
  } catch (error) {
    await dataSource.destroy();
    throw error;
  } finally {
    await lock.end();
  }
  return dataSource;
}
