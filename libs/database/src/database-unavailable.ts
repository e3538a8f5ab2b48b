/** SQLSTATEs and socket errors that mean "the database cannot be reached right now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  // admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now (starting up)
  '57P01',
  '57P02',
  '57P03',
  // too_many_connections
  '53300',
  // connection_exception and its subclasses
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** node-postgres' own messages for a dropped or never-made connection. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|is not queryable|Connection ended/;

/**
 * Whether a failure is PostgreSQL being unreachable (down, restarting, connection killed)
 * rather than a bug: the caller may retry shortly, so the HTTP edge answers 503. TypeORM
 * wraps driver errors (QueryFailedError.driverError), so the cause is looked at too.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 3) return false;
  const { code, driverError, cause } = error as {
    code?: unknown;
    driverError?: unknown;
    cause?: unknown;
  };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (UNAVAILABLE_MESSAGES.test(error.message)) return true;
  return [driverError, cause].some(
    (inner) => inner !== error && isDatabaseUnavailable(inner, depth + 1),
  );
}
