import { ConfigService } from '@nestjs/config';
import type { TestingModuleBuilder } from '@nestjs/testing';
import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import { createMessageBus, MessageBus, type Publication } from '@app/outbox';
import { book, createBuyers, createEvent, type TestEvent } from '../support/booking';
import { eventually } from '../support/eventually';
import { freshDatabase } from '../support/fresh-database';
import {
  PROBE_APPLIED_TABLE,
  PROBE_GROUP,
  probeConsumerModule,
  type ConsumerFaults,
} from '../support/probe-consumer';
import { RedisServer } from '../support/redis-server';
import { readStream } from '../support/streams';
import { createUser, startTestApp, type TestApp, type TestUser } from '../support/test-app';

/** Test-only fault: the relay dies after Redis took the messages, before PostgreSQL marks them. */
interface RelayFaults {
  crashAfterPublish: number;
}

/**
 * At least once, applied once (every outbox message reaches each consumer group, and is
 * applied once, whatever crashes between publish and mark): two instances on one PostgreSQL
 * and one Redis (a private redis-server), both relaying and both consuming in one group.
 */
describe('outbox delivery: nothing lost, nothing applied twice', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let a: TestApp;
  let b: TestApp;
  let admin: TestUser;
  const relayFaults: RelayFaults = { crashAfterPublish: 0 };
  const consumerFaults: ConsumerFaults = { failNext: 0 };
  let settings: Record<string, string>;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    await redis.connect();
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `${url.pathname}_delivery`;
    await freshDatabase(url);
    settings = {
      DATABASE_URL: url.toString(),
      REDIS_URL: redisServer.url,
      AUTH_RATE_LIMIT: '0',
      OUTBOX_CLAIM_IDLE_MS: '500',
    };
    // The real Redis Streams bus in both instances, made to fail where a crash would hit.
    const faultyBus = (builder: TestingModuleBuilder) =>
      builder.overrideProvider(MessageBus).useFactory({
        inject: [ConfigService, getRedisConnectionToken()],
        factory: (config: ConfigService, client: Redis) => {
          const bus = createMessageBus(config as never, client);
          const publish = bus.publish.bind(bus);
          bus.publish = async (publications: Publication[]) => {
            await publish(publications);
            if (relayFaults.crashAfterPublish > 0) {
              relayFaults.crashAfterPublish -= 1;
              throw new Error('relay stopped between publish and mark');
            }
          };
          return bus;
        },
      });
    a = await startTestApp(settings, {
      imports: [probeConsumerModule('A', consumerFaults)],
      customize: faultyBus,
    });
    await a.dataSource.query(PROBE_APPLIED_TABLE);
    b = await startTestApp(settings, {
      imports: [probeConsumerModule('B', consumerFaults)],
      customize: faultyBus,
    });
    admin = await createUser(a, { admin: true });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    redis?.disconnect();
    await redisServer?.stop();
  });

  /** A new event, once its own `inventory` message has been published and applied. */
  async function event(quantity: number): Promise<TestEvent> {
    const created = await createEvent(a, admin, {
      maxTicketsPerOrder: 2,
      ticketTypes: [{ name: 'General Admission', price: 1000, quantity }],
    });
    await eventually(
      async () => (await appliedOf(created.id)).length === (await outboxIdsOf(created.id)).length,
      { what: 'the new event announced' },
    );
    return created;
  }

  /** The event's outbox rows written by bookings. */
  async function bookingIdsOf(eventId: string): Promise<string[]> {
    const rows: { id: string }[] = await a.dataSource.query(
      `SELECT id::text FROM outbox WHERE payload->>'eventId' = $1 AND payload->>'type' = 'locked'
       ORDER BY outbox.id`,
      [eventId],
    );
    return rows.map((row) => row.id);
  }

  async function outboxIdsOf(eventId: string): Promise<string[]> {
    const rows: { id: string }[] = await a.dataSource.query(
      `SELECT id::text FROM outbox WHERE payload->>'eventId' = $1 ORDER BY outbox.id`,
      [eventId],
    );
    return rows.map((row) => row.id);
  }

  async function appliedOf(eventId: string): Promise<{ outboxId: string; instance: string }[]> {
    return a.dataSource.query(
      `SELECT outbox_id::text AS "outboxId", instance FROM probe_applied WHERE event_id = $1
       ORDER BY outbox_id`,
      [eventId],
    );
  }

  async function onStream(eventId: string): Promise<string[]> {
    return (await readStream(redis, 'ticket_availability'))
      .filter((entry) => entry.message.eventId === eventId)
      .map((entry) => entry.message.outboxId);
  }

  it('a relay stopped between publish and mark publishes again; the consumer applies it once', async () => {
    const shown = await event(10);
    const [buyer] = await createBuyers(a, 1);
    relayFaults.crashAfterPublish = 1;
    await book(a, buyer, shown.id, { ticketTypeId: shown.ticketTypes[0].id, quantity: 1 }).expect(
      201,
    );
    const [outboxId] = await bookingIdsOf(shown.id);

    // On the stream twice (published, crash, published again), then marked.
    const twice = async () => (await onStream(shown.id)).filter((id) => id === outboxId);
    await eventually(async () => (await twice()).length === 2, {
      what: 'the message published twice',
    });
    expect(await twice()).toEqual([outboxId, outboxId]);
    expect(relayFaults.crashAfterPublish).toBe(0);
    await eventually(async () => {
      const [row]: { published: boolean }[] = await a.dataSource.query(
        `SELECT published_at IS NOT NULL AS published FROM outbox WHERE id = $1`,
        [outboxId],
      );
      return row.published;
    });
    // Both deliveries consumed (nothing pending), one effect.
    await eventually(
      async () => (await redis.xpending('ticket_availability', PROBE_GROUP))[0] === 0,
    );
    expect((await appliedOf(shown.id)).filter((row) => row.outboxId === outboxId)).toEqual([
      { outboxId, instance: expect.any(String) },
    ]);
  });

  it('a consumer that fails leaves the message pending; it is claimed again and applied once', async () => {
    const shown = await event(10);
    const [buyer] = await createBuyers(a, 1);
    consumerFaults.failNext = 1;
    await book(b, buyer, shown.id, { ticketTypeId: shown.ticketTypes[0].id, quantity: 2 }).expect(
      201,
    );
    const [outboxId] = await bookingIdsOf(shown.id);

    const applied = await eventually(
      async () => {
        const rows = (await appliedOf(shown.id)).filter((row) => row.outboxId === outboxId);
        return rows.length > 0 && rows;
      },
      { what: 'the message applied after the failure', timeoutMs: 15_000 },
    );
    expect(consumerFaults.failNext).toBe(0);
    expect(applied).toEqual([{ outboxId, instance: expect.any(String) }]);
    expect((await onStream(shown.id)).filter((id) => id === outboxId)).toEqual([outboxId]);
    await eventually(
      async () => (await redis.xpending('ticket_availability', PROBE_GROUP))[0] === 0,
    );
  });

  it('two instances, relays and consumers in both: every message once on the stream and applied once', async () => {
    const shown = await event(400);
    const buyers = await createBuyers(a, 200);
    const answers = await Promise.all(
      buyers.map((buyer, i) =>
        book(i % 2 === 0 ? a : b, buyer, shown.id, {
          ticketTypeId: shown.ticketTypes[0].id,
          quantity: 1 + (i % 2),
        }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(buyers.map(() => 201));
    const outboxIds = await outboxIdsOf(shown.id);
    // The bookings' rows, and the event's own `inventory` row.
    expect(await bookingIdsOf(shown.id)).toHaveLength(200);
    expect(outboxIds).toHaveLength(201);

    await eventually(async () => (await appliedOf(shown.id)).length >= outboxIds.length, {
      what: 'every message applied',
      timeoutMs: 20_000,
    });
    await eventually(
      async () => (await redis.xpending('ticket_availability', PROBE_GROUP))[0] === 0,
    );
    const applied = await appliedOf(shown.id);
    expect(applied.map((row) => row.outboxId)).toEqual(outboxIds);
    expect((await onStream(shown.id)).sort()).toEqual([...outboxIds].sort());
    // The relays commit their marks after the stream has the messages.
    await eventually(
      async () => {
        const [{ unpublished }]: { unpublished: number }[] = await a.dataSource.query(
          `SELECT count(*)::int AS unpublished FROM outbox WHERE published_at IS NULL`,
        );
        return unpublished === 0;
      },
      { what: 'every outbox row marked published' },
    );
  });

  it('an instance with OUTBOX_RELAY_ENABLED=false publishes nothing: its changes go out through the others', async () => {
    let publishedByC = 0;
    const c = await startTestApp(
      { ...settings, OUTBOX_RELAY_ENABLED: 'false' },
      {
        customize: (builder) =>
          builder.overrideProvider(MessageBus).useFactory({
            inject: [ConfigService, getRedisConnectionToken()],
            factory: (config: ConfigService, client: Redis) => {
              const bus = createMessageBus(config as never, client);
              const publish = bus.publish.bind(bus);
              bus.publish = (publications: Publication[]) => {
                publishedByC += publications.length;
                return publish(publications);
              };
              return bus;
            },
          }),
      },
    );
    try {
      const shown = await event(40);
      const buyers = await createBuyers(a, 20);
      const answers = await Promise.all(
        buyers.map((buyer) =>
          book(c, buyer, shown.id, { ticketTypeId: shown.ticketTypes[0].id, quantity: 1 }),
        ),
      );
      expect(answers.map((answer) => answer.status)).toEqual(buyers.map(() => 201));
      const bookingIds = await bookingIdsOf(shown.id);
      expect(bookingIds).toHaveLength(20);
      await eventually(
        async () => {
          const streamed = new Set(await onStream(shown.id));
          return bookingIds.every((id) => streamed.has(id));
        },
        { what: "C's bookings published by A and B" },
      );
      expect(publishedByC).toBe(0);
    } finally {
      await c.close();
    }
  });
});
