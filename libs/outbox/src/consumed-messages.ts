import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/**
 * Makes a consumer's effect happen once per message however often the message comes: the
 * consumer records the message's outbox id for its group in the same transaction as its
 * effect, so either both commit or neither does (a Redis set would not commit with
 * PostgreSQL). Records are pruned with the outbox after OUTBOX_RETENTION_HOURS, far longer
 * than any redelivery takes.
 */
@Injectable()
export class ConsumedMessages {
  /** True the first time; false when this group already applied this message. */
  async claim(manager: EntityManager, group: string, outboxId: string): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO consumed_messages (consumer_group, outbox_id) VALUES ($1, $2)
       ON CONFLICT DO NOTHING RETURNING outbox_id`,
      [group, outboxId],
    );
    return rows.length > 0;
  }
}
