export * from './access-tokens';
export * from './auth-user';
export * from './auth.dto';
export * from './auth.module';
export * from './jwt-secret';
