import { randomUUID } from 'node:crypto';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import type { TicketPool } from '../ticket-pool';
import { type ClaimResult, type ClaimTicketsResult, TicketLockStore } from './ticket-lock.store';

// Each pool has: `free`, a set of ticket ids; `ready`, present once the set was loaded
// from PostgreSQL, holding the time of the last claim or release (ms). Keys of one event
// share a hash tag so multi-pool scripts stay on one Redis Cluster slot.
const NOW_MS = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

const CLAIM = `
if redis.call('EXISTS', KEYS[2]) == 0 then return {'not_loaded'} end
local n = tonumber(ARGV[1])
local size = redis.call('SCARD', KEYS[1])
if size < n then return {'sold_out', size} end
local ids = redis.call('SPOP', KEYS[1], n)
${NOW_MS}
redis.call('SET', KEYS[2], now, 'KEEPTTL')
table.insert(ids, 1, 'claimed')
return ids`;

// KEYS: free sets of k pools, then their ready keys. ARGV: k counts, then the ids per pool.
const CLAIM_TICKETS = `
local k = #KEYS / 2
for i = 1, k do
  if redis.call('EXISTS', KEYS[k + i]) == 0 then return {'not_loaded', i} end
end
local taken = {'unavailable'}
local pos = k + 1
for i = 1, k do
  local count = tonumber(ARGV[i])
  for j = pos, pos + count - 1 do
    if redis.call('SISMEMBER', KEYS[i], ARGV[j]) == 0 then taken[#taken + 1] = ARGV[j] end
  end
  pos = pos + count
end
if #taken > 1 then return taken end
${NOW_MS}
pos = k + 1
for i = 1, k do
  local count = tonumber(ARGV[i])
  for j = pos, pos + count - 1 do redis.call('SREM', KEYS[i], ARGV[j]) end
  pos = pos + count
  redis.call('SET', KEYS[k + i], now, 'KEEPTTL')
end
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
  ticketClaim(free: string, ready: string, quantity: number): Promise<(string | number)[]>;
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
    redis.defineCommand('ticketClaim', { numberOfKeys: 2, lua: CLAIM });
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

  async claim(pool: TicketPool, quantity: number): Promise<ClaimResult> {
    const [status, ...rest] = await this.redis.ticketClaim(free(pool), ready(pool), quantity);
    if (status === 'claimed') return { status, ticketIds: rest as string[] };
    if (status === 'sold_out') return { status, available: Number(rest[0]) };
    return { status: 'not_loaded' };
  }

  async claimTickets(
    claims: { pool: TicketPool; ticketIds: string[] }[],
  ): Promise<ClaimTicketsResult> {
    const keys = [...claims.map((c) => free(c.pool)), ...claims.map((c) => ready(c.pool))];
    const args = [...claims.map((c) => c.ticketIds.length), ...claims.flatMap((c) => c.ticketIds)];
    const [status, ...rest] = await this.redis.ticketClaimTickets(keys.length, ...keys, ...args);
    if (status === 'claimed') return { status };
    if (status === 'unavailable') return { status, ticketIds: rest as string[] };
    return { status: 'not_loaded', pool: claims[Number(rest[0]) - 1].pool };
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

function prefix(pool: TicketPool): string {
  return `tickets:{${pool.eventId}}:${pool.ticketTypeId}`;
}
function free(pool: TicketPool): string {
  return `${prefix(pool)}:free`;
}
function ready(pool: TicketPool): string {
  return `${prefix(pool)}:ready`;
}
