import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { eventually } from '../../support/eventually';
import { lockStoreMismatches } from '../../support/invariants';

/**
 * The expiry job runs every second: an order pending this long past its end is a violation
 * (the `expiredHoldGraceSeconds` of the invariants' check).
 */
export const EXPIRY_GRACE_SECONDS = 5;

/**
 * What the app must put right by itself after a fault, waited for (bounded): `[]` as soon as
 * `find` finds nothing, else what it still finds after `timeoutMs`.
 */
async function violationsWithin(
  find: () => Promise<string[]>,
  { timeoutMs, intervalMs, what }: { timeoutMs: number; intervalMs: number; what: string },
): Promise<string[]> {
  try {
    await eventually(async () => (await find()).length === 0, { timeoutMs, intervalMs, what });
    return [];
  } catch {
    return find();
  }
}

/**
 * The lock store agrees with PostgreSQL on how many tickets of each type are free (rebuilt
 * after a flush or restart, or put right by the reconcile job), within `timeoutMs`.
 */
export function lockStoreViolations(
  redis: Redis,
  db: Pool,
  eventId: string,
  timeoutMs: number,
): Promise<string[]> {
  return violationsWithin(() => lockStoreMismatches(redis, db, eventId), {
    timeoutMs,
    intervalMs: 500,
    what: 'the lock store to agree with PostgreSQL',
  });
}

/** Waits (bounded) until no order of the events is pending: every hold ended. */
export function waitForHoldsToEnd(
  db: Pool,
  eventIds: string[],
  timeoutMs: number,
): Promise<string[]> {
  const stillPending = async () =>
    (
      await db.query<{ id: string }>(
        `SELECT id FROM orders WHERE event_id = ANY($1::uuid[]) AND status = 'pending'`,
        [eventIds],
      )
    ).rows.map((row) => `order ${row.id} still pending: its hold never ended`);
  return violationsWithin(stillPending, {
    timeoutMs,
    intervalMs: 250,
    what: 'every hold to end',
  });
}
