import type { OutboxMessage, OutboxTopic, PublishedMessage } from './outbox-message';

/** A message of `topic` as consumers receive it. */
export type MessageOf<T extends OutboxTopic> = PublishedMessage<
  Extract<OutboxMessage, { topic: T }>
>;

export type MessageHandler<T extends OutboxTopic> = (message: MessageOf<T>) => Promise<void>;

export interface Publication {
  topic: OutboxTopic;
  message: PublishedMessage;
}

/**
 * Carries published outbox messages to consumer groups: every group gets every message of
 * its topic at least once, and within a group one consumer handles it. Two adapters: Redis
 * Streams (several instances, other services reading the same streams) and in-process (no
 * REDIS_URL), which run the same consumer code. A handler that throws gets the message again
 * later, so handlers must be idempotent by `outboxId` (see ConsumedMessages).
 */
export abstract class MessageBus {
  /** Resolves once every message is durably handed over (Redis) or handled (in-process). */
  abstract publish(publications: Publication[]): Promise<void>;

  /** Registers the group's handler for a topic; call before the application has started. */
  abstract consume<T extends OutboxTopic>(
    topic: T,
    group: string,
    handler: MessageHandler<T>,
  ): void;

  /**
   * Every instance's handler gets every message published while it runs (a broadcast, no
   * group): for state each instance keeps for its own clients. Nothing is acknowledged or
   * delivered again, so the handler must cope with a missed message (re-read the state).
   */
  abstract follow<T extends OutboxTopic>(topic: T, handler: MessageHandler<T>): void;
}
