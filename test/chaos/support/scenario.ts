import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { findViolations } from '../../support/invariants';
import { profile } from './profile';
import { EXPIRY_GRACE_SECONDS, lockStoreViolations } from './recovery';
import { type ChaosLine, recordLine } from './report';
import { answerViolations, type BookedOrder, type Outcome, Storm, summarize } from './storm';
import { type Buyer, type ChaosEvent, createEvent } from './world';

export interface StormResult {
  line: ChaosLine;
  violations: string[];
  outcomes: Outcome[];
  storm: Storm;
}

/**
 * One scenario: a storm on a fresh event, the fault injected after `leadMs` (`inject`
 * returns when the fault is cleared), `tailMs` more of storm, then the invariants in
 * PostgreSQL (and the lock store when `redis` is given). Prints the table line.
 */
export async function stormAround(
  fault: string,
  {
    urls,
    db,
    event,
    buyers,
    inject,
    redis,
    allowNoAnswer = false,
    lockStoreWaitMs = 30_000,
    extraChecks = () => Promise.resolve([]),
    onCreated,
    paidOrderIds = () => [],
  }: {
    urls: string[];
    db: Pool;
    event: ChaosEvent;
    buyers: Buyer[];
    inject: () => Promise<void>;
    redis?: Redis;
    allowNoAnswer?: boolean;
    lockStoreWaitMs?: number;
    /** Run after the storm, before the invariants (waits for payments, holds to end). */
    extraChecks?: (storm: Storm) => Promise<string[]>;
    onCreated?: (order: BookedOrder) => void;
    /** Orders the payment provider took money for (read after extraChecks). */
    paidOrderIds?: () => string[];
  },
): Promise<StormResult> {
  const storm = new Storm({
    urls,
    event,
    buyers,
    concurrency: profile.concurrency,
    onCreated,
  }).start();
  let clearedAt: number | null = null;
  try {
    await storm.runFor(profile.leadMs);
    await inject();
    clearedAt = Date.now();
    await storm.runFor(profile.tailMs);
  } finally {
    await storm.stop();
  }
  const outcomes = storm.outcomes;
  const violations = [
    ...answerViolations(outcomes, { allowNoAnswer }),
    ...(await extraChecks(storm)),
    ...(await findViolations(db, {
      eventIds: [event.id],
      created: storm.created,
      paidOrderIds: paidOrderIds(),
      expiredHoldGraceSeconds: EXPIRY_GRACE_SECONDS,
    })),
    ...(redis ? await lockStoreViolations(redis, db, event.id, lockStoreWaitMs) : []),
  ];
  const line = summarize(fault, outcomes, violations, clearedAt);
  recordLine(line);
  if (violations.length > 0) {
    process.stdout.write(`${fault}: violations\n  ${violations.slice(0, 20).join('\n  ')}\n`);
  }
  return { line, violations, outcomes, storm };
}

/**
 * A fault mid-storm on a fresh event of two 10,000-ticket types: no violation, and bookings
 * answered 201/409 again after the fault, without restarting anything.
 */
export async function expectRecovery(
  fault: string,
  inject: () => Promise<void>,
  {
    url,
    db,
    admin,
    buyers,
    redis,
  }: { url: string; db: Pool; admin: Buyer; buyers: Buyer[]; redis: Redis },
): Promise<StormResult> {
  const event = await createEvent(url, admin, [10_000, 10_000]);
  const result = await stormAround(fault, { urls: [url], db, event, buyers, inject, redis });
  expect(result.violations).toEqual([]);
  expect(result.line.recoveryMs).not.toBeNull();
  return result;
}
