import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { eventually } from '../../../../test/support/eventually';
import { RedisServer } from '../../../../test/support/redis-server';
import {
  BookingRateLimitedError,
  InventoryUnavailableError,
  SoldOutError,
  TicketsUnavailableError,
} from '../tickets.errors';
import type { TicketInventory } from '../ticket-inventory';
import type { TicketPool } from '../ticket-pool';
import { InProcessTicketLockStore } from './in-process-ticket-lock.store';
import { LATE_ANSWER_MS, RedisTicketLockStore } from './redis-ticket-lock.store';
import { TicketLockService, type Claim } from './ticket-lock.service';
import type { BuyerClaim, TicketLockStore } from './ticket-lock.store';

const STARTS_AT = new Date(Date.now() + 7 * 24 * 3600 * 1000);

function anyBuyer(overrides: Partial<BuyerClaim> = {}): BuyerClaim {
  return {
    userId: randomUUID(),
    orderId: randomUUID(),
    guardTtlMs: 60_000,
    ratePerMinute: 0,
    ...overrides,
  };
}

function claimedIds(claim: Claim): string[] {
  if (!('ticketIds' in claim)) throw new Error(`refused: held by ${claim.heldBy}`);
  return claim.ticketIds;
}

/** A claim by a buyer of its own (the buyer's guard and rate are tested on their own). */
async function claimWith(lock: TicketLockService, pool: TicketPool, quantity: number) {
  return claimedIds(await lock.claim(pool, quantity, STARTS_AT, anyBuyer()));
}

async function claimTicketsWith(
  lock: TicketLockService,
  claims: { pool: TicketPool; ticketIds: string[] }[],
) {
  return claimedIds(await lock.claimTickets(claims, STARTS_AT, anyBuyer()));
}

/**
 * Stands in for PostgreSQL: the free ids per ticket type, which the service loads a pool
 * from when the store does not have it.
 */
class FakeInventory {
  readonly free = new Map<string, string[]>();
  readonly loads: string[] = [];

  availableIds(ticketTypeId: string): Promise<string[]> {
    this.loads.push(ticketTypeId);
    return Promise.resolve([...(this.free.get(ticketTypeId) ?? [])]);
  }

  /** A new pool of `count` free tickets. */
  pool(count: number): { pool: TicketPool; ids: string[] } {
    const pool = { eventId: randomUUID(), ticketTypeId: randomUUID() };
    const ids = Array.from({ length: count }, () => randomUUID());
    this.free.set(pool.ticketTypeId, ids);
    return { pool, ids };
  }

  /** A second ticket type of the same event. */
  sibling(of: TicketPool, count: number): { pool: TicketPool; ids: string[] } {
    const pool = { eventId: of.eventId, ticketTypeId: randomUUID() };
    const ids = Array.from({ length: count }, () => randomUUID());
    this.free.set(pool.ticketTypeId, ids);
    return { pool, ids };
  }
}

interface StoreUnderTest {
  store: TicketLockStore;
  /** Makes the store lose everything, as FLUSHDB or a restart would. */
  wipe: () => Promise<void>;
}

const redisServer: { server?: RedisServer; client?: Redis } = {};

const stores: [string, () => StoreUnderTest][] = [
  [
    'RedisTicketLockStore',
    () => ({
      store: new RedisTicketLockStore(redisServer.client!),
      wipe: async () => {
        await redisServer.client!.flushdb();
      },
    }),
  ],
  [
    'InProcessTicketLockStore',
    () => {
      const store = new InProcessTicketLockStore();
      return {
        store,
        // What a restart of the process does to it.
        wipe: () => {
          (store as unknown as { pools: Map<string, unknown> }).pools.clear();
          return Promise.resolve();
        },
      };
    },
  ],
];

beforeAll(async () => {
  // The service logs every load and every store failure; the tests provoke both on purpose.
  if (!process.env.TEST_LOG_LEVEL) Logger.overrideLogger(false);
  redisServer.server = await RedisServer.start();
  redisServer.client = new Redis(redisServer.server.url, {
    commandTimeout: 2000,
    maxRetriesPerRequest: 1,
  });
});

afterAll(async () => {
  redisServer.client?.disconnect();
  await redisServer.server?.stop();
});

describe.each(stores)('TicketLockService on %s', (_name, makeStore) => {
  let inventory: FakeInventory;
  let subject: StoreUnderTest;
  let lock: TicketLockService;

  beforeEach(() => {
    inventory = new FakeInventory();
    subject = makeStore();
    lock = new TicketLockService(subject.store, inventory as unknown as TicketInventory);
  });

  const claim = (pool: TicketPool, quantity: number) => claimWith(lock, pool, quantity);
  const claimTickets = (claims: { pool: TicketPool; ticketIds: string[] }[]) =>
    claimTicketsWith(lock, claims);

  async function freeCount(pool: TicketPool): Promise<number | undefined> {
    return (await lock.inspect(pool))?.size;
  }

  it('loads a pool from the inventory on first use, then claims distinct free ids', async () => {
    const { pool, ids } = inventory.pool(10);
    expect(await lock.inspect(pool)).toBeNull();

    const first = await claim(pool, 3);
    const second = await claim(pool, 4);

    expect(inventory.loads).toEqual([pool.ticketTypeId]);
    expect(first).toHaveLength(3);
    expect(second).toHaveLength(4);
    const claimed = [...first, ...second];
    expect(new Set(claimed).size).toBe(claimed.length);
    claimed.forEach((id) => expect(ids).toContain(id));
    expect(await freeCount(pool)).toBe(ids.length - claimed.length);
  });

  it('loads a pool once however many first claims arrive together', async () => {
    const { pool, ids } = inventory.pool(50);
    const claims = await Promise.all(Array.from({ length: 25 }, () => claim(pool, 2)));
    expect(inventory.loads).toEqual([pool.ticketTypeId]);
    expect(new Set(claims.flat()).size).toBe(ids.length);
    expect(await freeCount(pool)).toBe(0);
  });

  it('answers sold out with what is left, taking nothing', async () => {
    const { pool, ids } = inventory.pool(5);
    await claim(pool, 3);

    const error = await claim(pool, 3).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SoldOutError);
    expect((error as SoldOutError).available).toBe(ids.length - 3);
    expect(await freeCount(pool)).toBe(ids.length - 3);
    expect(await claim(pool, 2)).toHaveLength(2);
    await expect(claim(pool, 1)).rejects.toBeInstanceOf(SoldOutError);
  });

  it('answers an empty pool from memory for a moment, but at once after its own release', async () => {
    const { pool } = inventory.pool(2);
    const claimed = await claim(pool, 2);
    await expect(claim(pool, 1)).rejects.toBeInstanceOf(SoldOutError);

    // Another instance (its own service on the same store) frees a ticket: this one keeps
    // answering sold out without asking the store, then sees the ticket.
    const otherInstance = new TicketLockService(
      subject.store,
      inventory as unknown as TicketInventory,
    );
    await otherInstance.release(pool, [claimed[0]]);
    const memoised = await claim(pool, 1).catch((e: unknown) => e);
    expect(memoised).toBeInstanceOf(SoldOutError);
    expect((memoised as SoldOutError).available).toBe(0);
    expect(await freeCount(pool)).toBe(1);
    const reclaimed = await eventually(() => claim(pool, 1).catch(() => null), {
      timeoutMs: 2_000,
      intervalMs: 20,
      what: 'the memo to lapse',
    });
    expect(reclaimed).toEqual([claimed[0]]);

    // Its own release forgets the memo: the ticket is bookable on the next request.
    await expect(claim(pool, 1)).rejects.toBeInstanceOf(SoldOutError);
    await lock.release(pool, [claimed[1]]);
    expect(await claim(pool, 1)).toEqual([claimed[1]]);
  });

  it('claims explicit ids all or nothing, across the pools of an event', async () => {
    const { pool, ids } = inventory.pool(5);
    const { pool: vip, ids: vipIds } = inventory.sibling(pool, 3);
    await claimTickets([{ pool, ticketIds: [ids[0], ids[1]] }]);
    expect(await freeCount(pool)).toBe(3);

    // ids[1] is taken: neither ids[2] nor the VIP ticket may be taken with it.
    const error = await claimTickets([
      { pool, ticketIds: [ids[1], ids[2]] },
      { pool: vip, ticketIds: [vipIds[0]] },
    ]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TicketsUnavailableError);
    expect((error as TicketsUnavailableError).ticketIds).toEqual([ids[1]]);
    expect(await freeCount(pool)).toBe(3);
    expect(await freeCount(vip)).toBe(vipIds.length);

    await claimTickets([
      { pool, ticketIds: [ids[2], ids[3]] },
      { pool: vip, ticketIds: [vipIds[0]] },
    ]);
    expect(await freeCount(pool)).toBe(1);
    expect(await freeCount(vip)).toBe(vipIds.length - 1);
    // The one id left is the one never claimed.
    expect(await claim(pool, 1)).toEqual([ids[4]]);
  });

  describe("the buyer's guard and rate", () => {
    it('refuses a buyer whose guard names another order before taking a ticket', async () => {
      const { pool, ids } = inventory.pool(10);
      const buyer = anyBuyer();
      const first = claimedIds(await lock.claim(pool, 2, STARTS_AT, buyer));

      // A second booking of the same buyer (another order id) takes nothing.
      const second = await lock.claim(pool, 2, STARTS_AT, { ...buyer, orderId: randomUUID() });
      expect(second).toEqual({ heldBy: buyer.orderId });
      const explicit = await lock.claimTickets(
        [{ pool, ticketIds: ids.filter((id) => !first.includes(id)).slice(0, 1) }],
        STARTS_AT,
        { ...buyer, orderId: randomUUID() },
      );
      expect(explicit).toEqual({ heldBy: buyer.orderId });
      expect(await freeCount(pool)).toBe(ids.length - 2);

      // The same booking claiming again (its lock store was stale) is let through.
      expect(claimedIds(await lock.claim(pool, 1, STARTS_AT, buyer))).toHaveLength(1);
      // Another buyer, or the same buyer at another event, is not guarded.
      expect(await claim(pool, 1)).toHaveLength(1);
      const { pool: elsewhere } = inventory.pool(3);
      const atAnotherEvent = await lock.claim(elsewhere, 1, STARTS_AT, {
        ...buyer,
        orderId: randomUUID(),
      });
      expect(atAnotherEvent).toHaveProperty('ticketIds');
    });

    it('lifts a guard only for the order it names, or when it lapses', async () => {
      const { pool } = inventory.pool(10);
      const buyer = anyBuyer({ guardTtlMs: 300 });
      await lock.claim(pool, 1, STARTS_AT, buyer);
      const next = { ...buyer, orderId: randomUUID() };

      await lock.releaseGuard(pool.eventId, buyer.userId, randomUUID());
      expect(await lock.claim(pool, 1, STARTS_AT, next)).toEqual({ heldBy: buyer.orderId });
      await lock.releaseGuard(pool.eventId, buyer.userId, buyer.orderId);
      expect(await lock.claim(pool, 1, STARTS_AT, next)).toHaveProperty('ticketIds');

      // `next` now guards; it lapses after its TTL without anyone lifting it.
      const later = { ...buyer, orderId: randomUUID() };
      await eventually(async () => 'ticketIds' in (await lock.claim(pool, 1, STARTS_AT, later)), {
        timeoutMs: 3_000,
        intervalMs: 50,
        what: 'the guard to lapse',
      });
    });

    it('counts claims per buyer and event, refusing past the rate with nothing taken', async () => {
      const { pool, ids } = inventory.pool(20);
      const buyer = anyBuyer({ ratePerMinute: 3 });
      for (let i = 0; i < 3; i++) {
        const claimant = { ...buyer, orderId: randomUUID() };
        await lock.claim(pool, 1, STARTS_AT, claimant);
        await lock.releaseGuard(pool.eventId, buyer.userId, claimant.orderId);
      }

      const refused = await lock
        .claim(pool, 1, STARTS_AT, { ...buyer, orderId: randomUUID() })
        .catch((e: unknown) => e);

      expect(refused).toBeInstanceOf(BookingRateLimitedError);
      const { retryAfterSeconds } = refused as BookingRateLimitedError;
      expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(retryAfterSeconds).toBeLessThanOrEqual(60);
      expect(await freeCount(pool)).toBe(ids.length - 3);
      // A claim that does not count (a retry of a counted booking), or another buyer, goes on.
      expect(
        await lock.claim(pool, 1, STARTS_AT, { ...buyer, orderId: randomUUID(), ratePerMinute: 0 }),
      ).toHaveProperty('ticketIds');
      expect(await claim(pool, 1)).toHaveLength(1);
    });
  });

  it('releases exactly the ids that were claimed, once', async () => {
    const { pool, ids } = inventory.pool(6);
    const claimed = await claim(pool, 4);
    await lock.release(pool, claimed.slice(0, 2));
    expect(await freeCount(pool)).toBe(4);
    // Releasing the same ids again changes nothing: the free ids are a set.
    await lock.release(pool, claimed.slice(0, 2));
    expect(await freeCount(pool)).toBe(4);

    const again = await claim(pool, 4);
    expect(new Set(again)).toEqual(
      new Set([...ids.filter((id) => !claimed.includes(id)), ...claimed.slice(0, 2)]),
    );
  });

  it('gives back thousands of ids in one release (an expiry batch, a grown type)', async () => {
    const { pool, ids } = inventory.pool(20_000);
    const claimed = await claim(pool, 10);
    expect(await freeCount(pool)).toBe(ids.length - claimed.length);
    // As if the type grew by 12,000 tickets: new ids enter the loaded pool in one call.
    const added = Array.from({ length: 12_000 }, () => randomUUID());
    await lock.release(pool, [...claimed, ...added]);
    expect(await freeCount(pool)).toBe(ids.length + added.length);
  });

  it('removes retired ids so they are never handed out', async () => {
    const { pool, ids } = inventory.pool(4);
    await claim(pool, 1).then((claimed) => lock.release(pool, claimed));
    await lock.remove(pool, ids.slice(0, 3));
    expect(await claim(pool, 1)).toEqual([ids[3]]);
    await expect(claim(pool, 1)).rejects.toBeInstanceOf(SoldOutError);
  });

  it('reloads a pool the store lost, and ignores releases into it until then', async () => {
    const { pool, ids } = inventory.pool(8);
    const claimed = await claim(pool, 3);
    // PostgreSQL now holds those 3; the store loses everything.
    inventory.free.set(
      pool.ticketTypeId,
      ids.filter((id) => !claimed.includes(id)),
    );
    await subject.wipe();
    expect(await lock.inspect(pool)).toBeNull();
    await lock.release(pool, claimed.slice(0, 1));
    expect(await lock.inspect(pool)).toBeNull();

    const next = await claim(pool, 5);

    expect(inventory.loads).toEqual([pool.ticketTypeId, pool.ticketTypeId]);
    expect(new Set(next)).toEqual(new Set(ids.filter((id) => !claimed.includes(id))));
    await expect(claim(pool, 1)).rejects.toBeInstanceOf(SoldOutError);
  });

  it('loads the pools of explicit ids on demand', async () => {
    const { pool, ids } = inventory.pool(3);
    const { pool: vip, ids: vipIds } = inventory.sibling(pool, 2);
    await claimTickets([
      { pool, ticketIds: [ids[0]] },
      { pool: vip, ticketIds: vipIds },
    ]);
    expect([...inventory.loads].sort()).toEqual([pool.ticketTypeId, vip.ticketTypeId].sort());
    expect(await freeCount(pool)).toBe(2);
    expect(await freeCount(vip)).toBe(0);
  });

  it('takes an answer that came while the process was busy past the deadline', async () => {
    const { pool } = inventory.pool(10);
    await claim(pool, 1);

    const claiming = claim(pool, 2);
    // The whole process busy for longer than the store's 1 s deadline (a long GC pause, a
    // synchronous task): the store's answer is waiting when the event loop runs again.
    const busyUntil = Date.now() + 1_200;
    while (Date.now() < busyUntil);

    expect(await claiming).toHaveLength(2);
    expect(await freeCount(pool)).toBe(7);
  });

  it('never hands out one id twice under concurrent claims', async () => {
    const { pool, ids } = inventory.pool(300);
    await claim(pool, 1).then((claimed) => lock.release(pool, claimed));
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 200 }, (_, i) => claim(pool, 1 + (i % 3))),
      ...Array.from({ length: 100 }, (_, i) =>
        claimTickets([{ pool, ticketIds: [ids[i % 50], ids[50 + ((i * 7) % 250)]] }]).then(() => [
          ids[i % 50],
          ids[50 + ((i * 7) % 250)],
        ]),
      ),
    ]);

    const handedOut = outcomes.flatMap((o) => (o.status === 'fulfilled' ? o.value : []));
    const refused = outcomes.flatMap((o): unknown[] => (o.status === 'rejected' ? [o.reason] : []));
    expect(new Set(handedOut).size).toBe(handedOut.length);
    handedOut.forEach((id) => expect(ids).toContain(id));
    refused.forEach((reason) =>
      expect(reason instanceof SoldOutError || reason instanceof TicketsUnavailableError).toBe(
        true,
      ),
    );
    expect(handedOut.length + (await freeCount(pool))!).toBe(ids.length);
    // Demand (about 500 ids) exceeds supply, so everything was handed out.
    expect(await freeCount(pool)).toBeLessThan(3);
  });
});

describe('TicketLockService when Redis is unreachable', () => {
  it('fails fast with a typed 503 error, never hangs', async () => {
    const server = await RedisServer.start();
    await server.stop();
    const redis = new Redis(server.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      connectTimeout: 500,
      commandTimeout: 500,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 200,
    });
    const inventory = new FakeInventory();
    const { pool } = inventory.pool(3);
    const lock = new TicketLockService(
      new RedisTicketLockStore(redis),
      inventory as unknown as TicketInventory,
    );
    try {
      const started = Date.now();
      await expect(claimWith(lock, pool, 1)).rejects.toBeInstanceOf(InventoryUnavailableError);
      await expect(
        claimTicketsWith(lock, [{ pool, ticketIds: inventory.free.get(pool.ticketTypeId)! }]),
      ).rejects.toBeInstanceOf(InventoryUnavailableError);
      expect(Date.now() - started).toBeLessThan(2000);
      // Releases are best effort: PostgreSQL has the truth and the reconcile job repairs.
      await expect(lock.release(pool, ['x'])).resolves.toBeUndefined();
    } finally {
      redis.disconnect();
    }
  });
});

describe('TicketLockService when Redis freezes', () => {
  it('answers a typed 503 within its deadline, even queued behind auto-pipelined commands, and gives back what Redis took late', async () => {
    const server = await RedisServer.start(['--enable-debug-command', 'yes']);
    // The store's connection as the server makes it (libs/redis, TicketsModule):
    // auto-pipelining, no offline queue, late answers awaited.
    const redis = new Redis(server.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: LATE_ANSWER_MS,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: true,
    });
    const freezer = server.client();
    await Promise.all([redis.connect(), freezer.connect()]);
    const inventory = new FakeInventory();
    const { pool } = inventory.pool(500);
    const lock = new TicketLockService(
      new RedisTicketLockStore(redis),
      inventory as unknown as TicketInventory,
    );
    try {
      await claimWith(lock, pool, 1);
      void freezer.call('DEBUG', 'SLEEP', '4').catch(() => undefined);
      // Claims arriving over the first 1.5 s of the freeze, in separate ticks.
      const answers = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          await new Promise((resolve) => setTimeout(resolve, i * 50));
          const started = Date.now();
          const error = await claimWith(lock, pool, 1).catch((reason: unknown) => reason);
          return { error, ms: Date.now() - started };
        }),
      );
      for (const { error, ms } of answers) {
        expect(error).toBeInstanceOf(InventoryUnavailableError);
        expect(ms).toBeLessThan(1500);
      }
      // The claims Redis ran when it woke were answered 503: their ids come back.
      await eventually(async () => (await lock.inspect(pool))?.size === 499, {
        what: 'the late claims given back',
      });
    } finally {
      redis.disconnect();
      freezer.disconnect();
      await server.stop();
    }
  });
});
