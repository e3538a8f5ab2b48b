export * from './config.module';
export * from './environment';
export * from './ed25519-keys';
export * from './trust-proxy';
