export * from './database.module';
export * from './typeorm-options';
