import { recordNotRun } from './report';

/**
 * How long the storms last. `full` (npm run test:chaos) follows the issue; `short` (npm test,
 * CI) keeps every fault but shortens the storms so the whole suite stays within minutes.
 */
export type ChaosProfile = 'short' | 'full';

export const PROFILE: ChaosProfile = process.env.CHAOS_PROFILE === 'full' ? 'full' : 'short';

const FULL = PROFILE === 'full';

const LEFT_OUT = 'not run in the short profile — `npm run test:chaos` runs it';

/**
 * The scenarios a profile runs: all of them in `full`; in `short`, the ones named in
 * `short` (one or two per kind of fault), so that `npm test` stays within minutes. The
 * others are listed in the table as not run.
 */
export function inProfile<T extends [string, ...unknown[]]>(all: T[], short: string[]): T[] {
  if (FULL) return all;
  for (const [name] of all) if (!short.includes(name)) recordNotRun(name, LEFT_OUT);
  return all.filter(([name]) => short.includes(name));
}

/**
 * Whether a scenario that only the full profile runs is defined (`fault` as its table row
 * names it); in the short profile the table lists it as not run.
 */
export function inFullProfile(fault: string): boolean {
  if (!FULL) recordNotRun(fault, LEFT_OUT);
  return FULL;
}

export const profile = {
  /** Requests in flight at once during a storm (the machine has 2 cores). */
  concurrency: FULL ? 80 : 40,
  /** Storm time before a fault is injected, and after it is cleared. */
  leadMs: FULL ? 3_000 : 1_500,
  tailMs: FULL ? 5_000 : 2_500,
  /** Length of the Redis pause / sleep / kill faults. */
  redisFaultMs: 5_000,
  /** Length of the PostgreSQL outage (the 10 s in both profiles). */
  postgresOutageMs: FULL ? 10_000 : 6_000,
  /**
   * Buyers created per suite: every booking in a storm comes from a different buyer. A storm
   * ends early when they run out, so there must be more than a quiet machine answers in a
   * whole storm (fast 503s and 409s run to a few thousand a second), or a storm ends inside
   * its fault and no recovery is seen.
   */
  buyers: FULL ? 16_000 : 8_000,
  /** Bodies generated per operation by the property-based test. */
  propertyRuns: FULL ? 60 : 15,
  /** Idle sockets held open against the server during the abuse storm. */
  idleSockets: 2_000,
};

/** An answer slower than this during a fault is a hang (a fault is answered 503, fast). */
export const HANG_MS = 2_000;
