export * from './database.module';
export * from './typeorm-options';
export * from './database-unavailable';
export * from './locked-migrations';
