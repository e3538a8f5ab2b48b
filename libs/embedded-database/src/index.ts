export * from './embedded-database';
export * from './embedded-database.module';
