import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Environment } from '@app/config';
import {
  DATABASE_POOL,
  type DatabasePool,
  EmbeddedDatabase,
  EmbeddedDatabaseModule,
} from '@app/embedded-database';
import { initializeWithLockedMigrations } from './locked-migrations';
import { typeormOptions } from './typeorm-options';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      imports: [EmbeddedDatabaseModule],
      inject: [ConfigService, EmbeddedDatabase],
      useFactory: async (config: ConfigService<Environment, true>, embedded: EmbeddedDatabase) => {
        const url = config.get('DATABASE_URL', { infer: true }) ?? (await embedded.start());
        return {
          ...typeormOptions(url, config.get('DATABASE_POOL_SIZE', { infer: true })),
          autoLoadEntities: true,
          migrationsRun: config.get('MIGRATIONS_RUN', { infer: true }),
        };
      },
      // Instances starting at once must not run the same migrations side by side.
      dataSourceFactory: (options) => initializeWithLockedMigrations(options!),
    }),
  ],
  providers: [
    {
      provide: DATABASE_POOL,
      inject: [DataSource],
      useFactory: (dataSource: DataSource): DatabasePool => ({
        close: async () => {
          if (dataSource.isInitialized) await dataSource.destroy();
        },
      }),
    },
  ],
  exports: [DATABASE_POOL],
})
export class DatabaseModule {}
