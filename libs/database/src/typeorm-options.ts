import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';

/** Shared by the app (Nest TypeORM module), the TypeORM CLI data source and the tests. */
export function typeormOptions(url: string, poolSize: number): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    // The schema comes from migrations only, never from entity metadata.
    synchronize: false,
    migrations: [join(__dirname, '..', '..', '..', 'migrations', '*.{js,ts}')],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    extra: {
      max: poolSize,
      connectionTimeoutMillis: 5000,
      // A statement stuck behind a lock must not hold a pooled connection forever.
      statement_timeout: 15000,
      idle_in_transaction_session_timeout: 30000,
    },
  };
}
