import { randomUUID } from 'node:crypto';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import type { TicketPool } from '../ticket-pool';
import {
  type BuyerClaim,
  type BuyerRefusal,
  type ClaimResult,
  type ClaimTicketsResult,
  RATE_WINDOW_MS,
  TicketLockStore,
} from './ticket-lock.store';

// Each pool has: `free`, a set of ticket ids; `ready`, present once the set was loaded
// from PostgreSQL, holding the time of the last claim or release (ms). Keys of one event
// share a hash tag so multi-pool scripts stay on one Redis Cluster slot.
const NOW_MS = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

/**
 * The buyer's side of a claim, run before any ticket is taken: counts the rate, then refuses
 * when the buyer's guard names another order. `guard` and `rate` are the Lua expressions of
 * the two keys; ARGV[a] is the booking's order id, ARGV[a + 2] claims per minute (0: not
 * counted).
 */
function buyerChecks(guard: string, rate: string, a: number): string {
  return `
local limit = tonumber(ARGV[${a + 2}])
if limit > 0 then
  local count = redis.call('INCR', ${rate})
  if count == 1 then redis.call('PEXPIRE', ${rate}, ${RATE_WINDOW_MS}) end
  if count > limit then return {'rate_limited', redis.call('PTTL', ${rate})} end
end
local holder = redis.call('GET', ${guard})
if holder and holder ~= ARGV[${a}] then return {'held_by', holder} end`;
}

// KEYS: free, ready, guard, rate. ARGV: quantity, then the buyer's three.
const CLAIM = `${buyerChecks('KEYS[3]', 'KEYS[4]', 2)}
if redis.call('EXISTS', KEYS[2]) == 0 then return {'not_loaded'} end
local n = tonumber(ARGV[1])
local size = redis.call('SCARD', KEYS[1])
if size < n then return {'sold_out', size} end
local ids = redis.call('SPOP', KEYS[1], n)
${NOW_MS}
redis.call('SET', KEYS[2], now, 'KEEPTTL')
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
table.insert(ids, 1, 'claimed')
return ids`;

// KEYS: free sets of k pools, then their ready keys, then guard and rate. ARGV: the buyer's
// three, then k counts, then the ids per pool.
const CLAIM_TICKETS = `
local k = (#KEYS - 2) / 2
${buyerChecks('KEYS[2 * k + 1]', 'KEYS[2 * k + 2]', 1)}
for i = 1, k do
  if redis.call('EXISTS', KEYS[k + i]) == 0 then return {'not_loaded', i} end
end
local taken = {'unavailable'}
local pos = k + 4
for i = 1, k do
  local count = tonumber(ARGV[3 + i])
  for j = pos, pos + count - 1 do
    if redis.call('SISMEMBER', KEYS[i], ARGV[j]) == 0 then taken[#taken + 1] = ARGV[j] end
  end
  pos = pos + count
end
if #taken > 1 then return taken end
${NOW_MS}
pos = k + 4
for i = 1, k do
  local count = tonumber(ARGV[3 + i])
  for j = pos, pos + count - 1 do redis.call('SREM', KEYS[i], ARGV[j]) end
  pos = pos + count
  redis.call('SET', KEYS[k + i], now, 'KEEPTTL')
end
redis.call('SET', KEYS[2 * k + 1], ARGV[1], 'PX', ARGV[2])
return {'claimed'}`;

const RELEASE = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
${NOW_MS}
redis.call('SET', KEYS[2], now, 'KEEPTTL')
local added = redis.call('SADD', KEYS[1], unpack(ARGV))
local expiresAt = redis.call('PEXPIRETIME', KEYS[2])
if expiresAt > 0 then redis.call('PEXPIREAT', KEYS[1], expiresAt) end
return added`;

// KEYS: free, ready, staging (already filled, or absent for an empty pool). ARGV: expiry (ms).
const LOAD = `
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('RENAME', KEYS[3], KEYS[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
else
  redis.call('DEL', KEYS[1])
end
${NOW_MS}
redis.call('SET', KEYS[2], now, 'PXAT', ARGV[1])
return 1`;

// Compare-and-delete: only the holder of the token unlocks, never a blind DEL.
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const LOAD_LOCK_MS = 30_000;
const STAGING_CHUNK = 5_000;

interface TicketLockCommands {
  ticketClaim(
    free: string,
    ready: string,
    guard: string,
    rate: string,
    quantity: number,
    ...buyer: (string | number)[]
  ): Promise<(string | number)[]>;
  ticketClaimTickets(
    numKeys: number,
    ...keysAndArgs: (string | number)[]
  ): Promise<(string | number)[]>;
  ticketRelease(free: string, ready: string, ...ids: string[]): Promise<number>;
  ticketLoad(free: string, ready: string, staging: string, expiresAtMs: number): Promise<number>;
  ticketUnlock(lock: string, token: string): Promise<number>;
}

/**
 * How long the store's connection waits for an answer. A booking gives up after 1 s
 * (TicketLockService answers 503) but its claim may still run when a frozen Redis wakes;
 * waiting for that answer lets the service give the ids back at once. With the shared
 * client's 1 s timeout they would stay taken until the reconcile job noticed.
 */
export const LATE_ANSWER_MS = 30_000;

/** Owns the connection it is given: the app gives it one of its own (TicketsModule). */
export class RedisTicketLockStore
  extends TicketLockStore
  implements OnModuleInit, OnApplicationShutdown
{
  private readonly redis: Redis & TicketLockCommands;

  constructor(redis: Redis) {
    super();
    redis.defineCommand('ticketClaim', { numberOfKeys: 4, lua: CLAIM });
    redis.defineCommand('ticketClaimTickets', { lua: CLAIM_TICKETS });
    redis.defineCommand('ticketRelease', { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand('ticketLoad', { numberOfKeys: 3, lua: LOAD });
    redis.defineCommand('ticketUnlock', { numberOfKeys: 1, lua: UNLOCK });
    this.redis = redis as Redis & TicketLockCommands;
  }

  /** Waits (briefly) for the connection, so the first bookings do not find it still opening. */
  async onModuleInit(): Promise<void> {
    const redis = this.redis;
    if (redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }

  async claim(pool: TicketPool, quantity: number, buyer: BuyerClaim): Promise<ClaimResult> {
    const [status, ...rest] = await this.redis.ticketClaim(
      free(pool),
      ready(pool),
      guard(pool.eventId, buyer.userId),
      rate(pool.eventId, buyer.userId),
      quantity,
      ...buyerArgs(buyer),
    );
    if (status === 'claimed') return { status, ticketIds: rest as string[] };
    if (status === 'sold_out') return { status, available: Number(rest[0]) };
    return refusal(status, rest) ?? { status: 'not_loaded' };
  }

  async claimTickets(
    claims: { pool: TicketPool; ticketIds: string[] }[],
    buyer: BuyerClaim,
  ): Promise<ClaimTicketsResult> {
    const { eventId } = claims[0].pool;
    const keys = [
      ...claims.map((c) => free(c.pool)),
      ...claims.map((c) => ready(c.pool)),
      guard(eventId, buyer.userId),
      rate(eventId, buyer.userId),
    ];
    const args = [
      ...buyerArgs(buyer),
      ...claims.map((c) => c.ticketIds.length),
      ...claims.flatMap((c) => c.ticketIds),
    ];
    const [status, ...rest] = await this.redis.ticketClaimTickets(keys.length, ...keys, ...args);
    if (status === 'claimed') return { status };
    if (status === 'unavailable') return { status, ticketIds: rest as string[] };
    return (
      refusal(status, rest) ?? { status: 'not_loaded', pool: claims[Number(rest[0]) - 1].pool }
    );
  }

  async releaseGuard(eventId: string, userId: string, orderId: string): Promise<void> {
    await this.redis.ticketUnlock(guard(eventId, userId), orderId);
  }

  async release(pool: TicketPool, ticketIds: string[]): Promise<void> {
    // In chunks: a script cannot unpack more than ~8,000 arguments (an expiry batch or a
    // grown ticket type gives back far more).
    for (let i = 0; i < ticketIds.length; i += STAGING_CHUNK) {
      await this.redis.ticketRelease(
        free(pool),
        ready(pool),
        ...ticketIds.slice(i, i + STAGING_CHUNK),
      );
    }
  }

  async remove(pool: TicketPool, ticketIds: string[]): Promise<void> {
    for (let i = 0; i < ticketIds.length; i += STAGING_CHUNK) {
      await this.redis.srem(free(pool), ...ticketIds.slice(i, i + STAGING_CHUNK));
    }
  }

  async load(pool: TicketPool, ticketIds: string[], expiresAt: Date): Promise<void> {
    const staging = `${prefix(pool)}:staging:${randomUUID()}`;
    for (let i = 0; i < ticketIds.length; i += STAGING_CHUNK) {
      await this.redis
        .multi()
        .sadd(staging, ...ticketIds.slice(i, i + STAGING_CHUNK))
        .pexpire(staging, LOAD_LOCK_MS)
        .exec();
    }
    await this.redis.ticketLoad(free(pool), ready(pool), staging, expiresAt.getTime());
  }

  async inspect(pool: TicketPool): Promise<{ size: number; lastChangeMs: number } | null> {
    const [[, lastChange], [, size]] = (await this.redis
      .multi()
      .get(ready(pool))
      .scard(free(pool))
      .exec()) as [[Error | null, string | null], [Error | null, number]];
    return lastChange === null ? null : { size, lastChangeMs: Number(lastChange) };
  }

  async tryLockLoading(pool: TicketPool): Promise<string | null> {
    const token = randomUUID();
    const locked = await this.redis.set(`${prefix(pool)}:loading`, token, 'PX', LOAD_LOCK_MS, 'NX');
    return locked === 'OK' ? token : null;
  }

  async unlockLoading(pool: TicketPool, token: string): Promise<void> {
    await this.redis.ticketUnlock(`${prefix(pool)}:loading`, token);
  }
}

function buyerArgs(buyer: BuyerClaim): (string | number)[] {
  return [buyer.orderId, buyer.guardTtlMs, buyer.ratePerMinute];
}

function refusal(status: string | number, rest: (string | number)[]): BuyerRefusal | undefined {
  if (status === 'held_by') return { status, orderId: String(rest[0]) };
  if (status === 'rate_limited') return { status, retryAfterMs: Math.max(Number(rest[0]), 1) };
  return undefined;
}

/** One booking of a buyer per event at a time: the order it names (see BuyerClaim). */
function guard(eventId: string, userId: string): string {
  return `tickets:{${eventId}}:buyer:${userId}`;
}

function rate(eventId: string, userId: string): string {
  return `tickets:{${eventId}}:rate:${userId}`;
}

function prefix(pool: TicketPool): string {
  return `tickets:{${pool.eventId}}:${pool.ticketTypeId}`;
}
function free(pool: TicketPool): string {
  return `${prefix(pool)}:free`;
}
function ready(pool: TicketPool): string {
  return `${prefix(pool)}:ready`;
}
