import { Module } from '@nestjs/common';
import { EmbeddedDatabase } from './embedded-database';

/** Its own library: the CLI uses it without loading TypeORM. */
@Module({
  providers: [EmbeddedDatabase],
  exports: [EmbeddedDatabase],
})
export class EmbeddedDatabaseModule {}
