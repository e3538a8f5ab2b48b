import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Pool } from 'pg';
import type { Environment } from '@app/config';
import {
  DATABASE_POOL,
  type DatabasePool,
  EmbeddedDatabase,
  EmbeddedDatabaseModule,
} from '@app/embedded-database';

/**
 * The CLI's database: a plain pg pool of one connection on DATABASE_URL or the embedded
 * database, not TypeORM, whose loading alone took a fifth of every call. The schema is the
 * server's (migrations run at its start); on a database no server has started on yet, the
 * CLI runs the migrations itself, loading TypeORM only then.
 */
class CliPool implements DatabasePool, OnApplicationShutdown {
  private closed = false;

  constructor(readonly pool: Pool) {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}

async function openPool(
  config: ConfigService<Environment, true>,
  embedded: EmbeddedDatabase,
): Promise<CliPool> {
  const url = config.get('DATABASE_URL', { infer: true }) ?? (await embedded.start());
  const pool = new Pool({ connectionString: url, max: 1 });
  const { rows } = await pool.query<{ ready: boolean }>(
    `SELECT to_regclass('public.users') IS NOT NULL AS ready`,
  );
  if (!rows[0].ready) {
    const { initializeWithLockedMigrations, typeormOptions } = await import('@app/database');
    const dataSource = await initializeWithLockedMigrations({
      ...typeormOptions(url, 1),
      migrationsRun: true,
    });
    await dataSource.destroy();
  }
  return new CliPool(pool);
}

@Module({
  imports: [EmbeddedDatabaseModule],
  providers: [
    {
      provide: CliPool,
      inject: [ConfigService, EmbeddedDatabase],
      useFactory: openPool,
    },
    { provide: DATABASE_POOL, useExisting: CliPool },
    { provide: Pool, inject: [CliPool], useFactory: (cliPool: CliPool) => cliPool.pool },
  ],
  exports: [Pool, DATABASE_POOL],
})
export class CliDatabaseModule {}
