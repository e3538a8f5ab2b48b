import { Logger } from '@nestjs/common';
import { MessageBus, type MessageHandler, type Publication } from './message-bus';
import type { OutboxTopic, PublishedMessage } from './outbox-message';

const REMEMBERED = 10_000;

type AnyHandler = (message: PublishedMessage) => Promise<void>;

/**
 * The bus of a single instance without Redis (embedded mode): `publish` hands each message to
 * every group's handler and resolves once all of them have handled it, so the relay marks a
 * row published only after its consumers ran. A failing handler fails the publication: the
 * relay publishes the batch again on its next run (at least once, as with Redis).
 */
export class InProcessMessageBus extends MessageBus {
  private readonly logger = new Logger('MessageBus');
  private readonly groups = new Map<OutboxTopic, Map<string, AnyHandler>>();
  private followers = 0;
  /**
   * Recent (group, outboxId) pairs handled: when one group's failure makes the relay publish
   * a batch again, the groups that handled it already are not given it twice.
   */
  private readonly handled = new Set<string>();

  publish(publications: Publication[]): Promise<void> {
    return this.deliver(publications);
  }

  consume<T extends OutboxTopic>(topic: T, group: string, handler: MessageHandler<T>): void {
    const groups = this.groups.get(topic) ?? new Map<string, AnyHandler>();
    groups.set(group, handler as AnyHandler);
    this.groups.set(topic, groups);
  }

  /** One instance: following is consuming in a group of its own. */
  follow<T extends OutboxTopic>(topic: T, handler: MessageHandler<T>): void {
    this.consume(topic, `follower-${this.followers++}`, handler);
  }

  private async deliver(publications: Publication[]): Promise<void> {
    let failures = 0;
    for (const { topic, message } of publications) {
      for (const [group, handler] of this.groups.get(topic) ?? []) {
        const key = `${group}:${message.outboxId}`;
        if (this.handled.has(key)) continue;
        try {
          await handler(message);
          this.remember(key);
        } catch (error) {
          failures += 1;
          this.logger.error(
            `Consumer ${group} of ${topic} failed on ${message.outboxId}: ${String(error)}`,
          );
        }
      }
    }
    if (failures > 0)
      throw new Error(`${failures} message(s) were not handled; they will come again`);
  }

  private remember(key: string): void {
    this.handled.add(key);
    // A Set iterates in insertion order: drop the oldest.
    if (this.handled.size > REMEMBERED) this.handled.delete(this.handled.values().next().value!);
  }
}
