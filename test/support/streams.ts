import Redis from 'ioredis';
import type { OutboxTopic, TicketTypeCounts } from '@app/outbox';
import type { TestApp } from './test-app';

export interface StreamEntry {
  /** The stream entry's id. */
  id: string;
  /** Any topic's message: the fields common to all, the others loosely typed. */
  message: {
    outboxId: string;
    at: string;
    ticketTypes: TicketTypeCounts[];
    [field: string]: unknown;
  };
}

/** A client of the test's own Redis database (the one the app publishes to). */
export function streamClient(url = process.env.REDIS_URL!): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

/** Every entry of a topic's stream (XRANGE), messages parsed from their `message` field. */
export async function readStream(redis: Redis, topic: OutboxTopic): Promise<StreamEntry[]> {
  const entries = await redis.xrange(topic, '-', '+');
  return entries.map(([id, fields]) => {
    const at = fields.indexOf('message');
    return { id, message: JSON.parse(fields[at + 1]) as StreamEntry['message'] };
  });
}

/** The order's messages on a topic's stream, oldest first. */
export async function messagesOfOrder(
  redis: Redis,
  topic: OutboxTopic,
  orderId: string,
): Promise<StreamEntry['message'][]> {
  return (await readStream(redis, topic))
    .map((entry) => entry.message)
    .filter((message) => message.orderId === orderId);
}

/** Outbox rows of an event not yet published (0 once the relay caught up). */
export async function unpublished(testApp: TestApp): Promise<number> {
  const [row]: { count: number }[] = await testApp.dataSource.query(
    `SELECT count(*)::int AS count FROM outbox WHERE published_at IS NULL`,
  );
  return row.count;
}
