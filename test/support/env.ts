// Loaded by Jest before every suite (setupFiles): the real services the tests use.
// CI and developers may point elsewhere with TEST_DATABASE_URL / TEST_REDIS_URL.
process.env.NODE_ENV = 'test';
process.env.DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tickets_test';
process.env.REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/1';
process.env.JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'silent';
process.env.DATA_DIR = '.data/test';
// A database is configured and no Stripe key: the simulator must be asked for.
process.env.PAYMENT_SIMULATOR = 'true';
