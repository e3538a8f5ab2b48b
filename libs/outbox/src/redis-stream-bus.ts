import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type Redis from 'ioredis';
import { reportConnectionState } from '@app/redis';
import { MessageBus, type MessageHandler, type Publication } from './message-bus';
import type { OutboxTopic, PublishedMessage } from './outbox-message';

const READ_COUNT = 200;
const BLOCK_MS = 1000;
/** A read takes up to READ_COUNT entries, waiting up to BLOCK_MS for the first one. */
const BLOCKING_READ = ['COUNT', READ_COUNT, 'BLOCK', BLOCK_MS] as const;
const RETRY_AFTER_ERROR_MS = 500;
/** A consumer name with nothing pending, silent this long, belonged to a stopped instance. */
const FORGET_CONSUMER_AFTER_MS = 3_600_000;

export interface RedisStreamBusOptions {
  /** XADD MAXLEN ~ this: the stream keeps about this many entries. */
  maxLength: number;
  /** Entries taken by a consumer and not acknowledged for this long are claimed again. */
  claimIdleMs: number;
}

type AnyHandler = (message: PublishedMessage) => Promise<void>;
type StreamEntry = [id: string, fields: string[]];

/**
 * One Redis Stream per topic (its key is the topic's name), one consumer group per
 * consuming role. Publishing is a pipelined XADD per message. Each (topic, group) this
 * instance consumes reads on a connection of its own (XREADGROUP blocks it), acknowledges a
 * message once its handler succeeded, and claims with XAUTOCLAIM what any consumer of the
 * group left unacknowledged for `claimIdleMs` (a dead instance, a failed handler).
 */
export class RedisStreamBus extends MessageBus implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('MessageBus');
  private readonly consumerName = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly registrations: { topic: OutboxTopic; group: string; handler: AnyHandler }[] = [];
  private readonly followings: { topic: OutboxTopic; handler: AnyHandler }[] = [];
  private readonly consumers: StreamReader[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisStreamBusOptions,
  ) {
    super();
  }

  async publish(publications: Publication[]): Promise<void> {
    if (publications.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { topic, message } of publications) {
      pipeline.xadd(
        topic,
        'MAXLEN',
        '~',
        String(this.options.maxLength),
        '*',
        'message',
        JSON.stringify(message),
      );
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed || results.length !== publications.length)
      throw failed?.[0] ?? new Error('Redis did not answer every XADD');
  }

  consume<T extends OutboxTopic>(topic: T, group: string, handler: MessageHandler<T>): void {
    this.registrations.push({ topic, group, handler: handler as AnyHandler });
  }

  follow<T extends OutboxTopic>(topic: T, handler: MessageHandler<T>): void {
    this.followings.push({ topic, handler: handler as AnyHandler });
  }

  onApplicationBootstrap(): void {
    for (const { topic, group, handler } of this.registrations) {
      this.consumers.push(
        new StreamConsumer(
          this.blockingConnection(),
          topic,
          group,
          this.consumerName,
          handler,
          this.options.claimIdleMs,
          this.logger,
        ),
      );
    }
    for (const { topic, handler } of this.followings) {
      this.consumers.push(
        new StreamFollower(this.blockingConnection(), topic, handler, this.logger),
      );
    }
    for (const consumer of this.consumers) consumer.start();
  }

  /**
   * Blocking reads need a connection of their own, without the shared client's timeout.
   * While Redis is away its commands wait for the reconnection.
   */
  private blockingConnection(): Redis {
    return reportConnectionState(
      this.redis.duplicate({
        commandTimeout: undefined,
        enableAutoPipelining: false,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
      }),
      this.logger,
      'A stream reader',
    );
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.stop()));
  }
}

/**
 * Reads one stream on a connection of its own until stopped: `read()` again and again, and
 * after a failure (Redis away, the stream gone) `failed()` resets what must be read anew,
 * then a pause before the next try.
 */
abstract class StreamReader {
  protected stopped = false;
  private inHand?: Promise<void>;

  constructor(
    protected readonly redis: Redis,
    protected readonly topic: OutboxTopic,
    private readonly handler: AnyHandler,
    protected readonly logger: Logger,
  ) {}

  start(): void {
    void this.run();
  }

  /**
   * Waits for the handler of the message in hand and closes the connection, which ends a
   * blocked read (a command waiting for an absent Redis is simply abandoned). A message
   * whose acknowledgement is cut off comes again later, to an idempotent handler.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.redis.disconnect();
    await this.inHand?.catch(() => undefined);
  }

  /** One blocking read and the handling of what it returned. */
  protected abstract read(): Promise<void>;

  /** After a failed read: log it, and forget what must be read anew. */
  protected abstract failed(error: unknown): void;

  /** Hands a message to the handler; stop() waits for it. */
  protected handle(message: PublishedMessage): Promise<void> {
    this.inHand = this.handler(message);
    return this.inHand;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.read();
      } catch (error) {
        if (this.stopped) break;
        this.failed(error);
        await delay(RETRY_AFTER_ERROR_MS);
      }
    }
  }
}

/** One consumer of a group (XREADGROUP): the group gets every message, one member each. */
class StreamConsumer extends StreamReader {
  private groupReady = false;
  private lastReclaimAt = 0;

  constructor(
    redis: Redis,
    topic: OutboxTopic,
    private readonly group: string,
    private readonly name: string,
    handler: AnyHandler,
    private readonly claimIdleMs: number,
    logger: Logger,
  ) {
    super(redis, topic, handler, logger);
  }

  protected async read(): Promise<void> {
    if (!this.groupReady) this.groupReady = await this.ensureGroup();
    if (Date.now() - this.lastReclaimAt >= Math.min(this.claimIdleMs, 5000)) {
      this.lastReclaimAt = Date.now();
      await this.reclaim();
    }
    const reply = (await this.redis.xreadgroup(
      'GROUP',
      this.group,
      this.name,
      ...BLOCKING_READ,
      'STREAMS',
      this.topic,
      '>',
    )) as [string, StreamEntry[]][] | null;
    for (const [, entries] of reply ?? []) await this.handleAll(entries);
  }

  protected failed(error: unknown): void {
    // The stream or group is gone (Redis flushed or restarted): create it again.
    if (String(error).includes('NOGROUP')) this.groupReady = false;
    this.logger.warn(`Reading ${this.topic} as ${this.group} failed: ${String(error)}`);
  }

  /** A new group starts at the stream's end: it gets what is published from now on. */
  private async ensureGroup(): Promise<boolean> {
    try {
      await this.redis.xgroup('CREATE', this.topic, this.group, '$', 'MKSTREAM');
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error;
    }
    return true;
  }

  private async handleAll(entries: StreamEntry[]): Promise<void> {
    for (const [id, fields] of entries) {
      if (this.stopped) return;
      const message = fieldsToMessage(fields);
      if (message) {
        try {
          await this.handle(message);
        } catch (error) {
          // Left pending: claimed again after claimIdleMs, here or by another instance.
          this.logger.error(
            `Consumer ${this.group} of ${this.topic} failed on ${message.outboxId}: ${String(error)}`,
          );
          continue;
        }
      }
      await this.redis.xack(this.topic, this.group, id);
    }
  }

  /** Takes over entries left unacknowledged too long, and forgets long-gone consumers. */
  private async reclaim(): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries, deleted] = (await this.redis.xautoclaim(
        this.topic,
        this.group,
        this.name,
        this.claimIdleMs,
        cursor,
        'COUNT',
        READ_COUNT,
      )) as [string, (StreamEntry | null)[], string[]?];
      await this.handleAll(entries.filter((entry): entry is StreamEntry => entry !== null));
      // Trimmed away before anyone handled them: nothing left to deliver.
      if (deleted?.length) await this.redis.xack(this.topic, this.group, ...deleted);
      cursor = next;
    } while (cursor !== '0-0' && !this.stopped);

    const consumers = (await this.redis.xinfo('CONSUMERS', this.topic, this.group)) as unknown[][];
    for (const fields of consumers) {
      const info = pairs(fields);
      if (
        info.name !== this.name &&
        Number(info.pending) === 0 &&
        Number(info.idle) > FORGET_CONSUMER_AFTER_MS
      ) {
        await this.redis.xgroup('DELCONSUMER', this.topic, this.group, String(info.name));
      }
    }
  }
}

/** Reads a stream from its end on, with XREAD (no group): every instance sees every message. */
class StreamFollower extends StreamReader {
  private lastId?: string;

  protected async read(): Promise<void> {
    // From the newest entry on (after a Redis restart, from the start of the new stream).
    this.lastId ??= (await this.redis.xrevrange(this.topic, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
    const reply = await this.redis.xread(...BLOCKING_READ, 'STREAMS', this.topic, this.lastId);
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        this.lastId = id;
        const message = fieldsToMessage(fields);
        if (!message || this.stopped) continue;
        await this.handle(message).catch((error: unknown) =>
          this.logger.error(
            `Follower of ${this.topic} failed on ${message.outboxId}: ${String(error)}`,
          ),
        );
      }
    }
  }

  protected failed(error: unknown): void {
    this.lastId = undefined;
    this.logger.warn(`Following ${this.topic} failed: ${String(error)}`);
  }
}

function pairs(fields: unknown[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) result[String(fields[i])] = fields[i + 1];
  return result;
}

function fieldsToMessage(fields: string[]): PublishedMessage | undefined {
  const json = pairs(fields).message;
  if (typeof json !== 'string') return undefined;
  try {
    return JSON.parse(json) as PublishedMessage;
  } catch {
    return undefined;
  }
}
