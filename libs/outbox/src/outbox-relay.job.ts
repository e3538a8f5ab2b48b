import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { IntervalJob } from '@app/common';
import type { Environment } from '@app/config';
import { AvailabilityCounts } from './availability-counts';
import { MessageBus, type Publication } from './message-bus';
import type { OutboxMessage } from './outbox-message';

const EVERY_MS = 100;
const BATCH = 500;
const PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_BATCH = 5000;

interface OutboxRow {
  id: string;
  topic: OutboxMessage['topic'];
  payload: OutboxMessage['payload'];
  createdAt: Date;
}

/**
 * Publishes the outbox to the message bus. Each run takes a batch of unpublished rows in id
 * order with FOR UPDATE SKIP LOCKED (relays in several instances share the rows instead of
 * repeating them), publishes them, and marks them published in the same transaction. A
 * relay that dies between publishing and committing leaves the rows unpublished: they are
 * published again, and consumers apply each outbox id once. Availability messages carry
 * their event's counts as read here, after the change committed.
 */
@Injectable()
export class OutboxRelayJob extends IntervalJob {
  private readonly retentionHours: number;
  private readonly enabled: boolean;
  private lastPruneAt = Date.now();

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: MessageBus,
    private readonly availability: AvailabilityCounts,
    config: ConfigService<Environment, true>,
  ) {
    super('Outbox relay', EVERY_MS);
    this.retentionHours = config.get('OUTBOX_RETENTION_HOURS', { infer: true });
    this.enabled = config.get('OUTBOX_RELAY_ENABLED', { infer: true });
  }

  /** Not started with OUTBOX_RELAY_ENABLED=false: another instance publishes. */
  override onApplicationBootstrap(): void {
    if (this.enabled) super.onApplicationBootstrap();
  }

  /** Publishes everything unpublished; returns how many rows. */
  async run(): Promise<number> {
    let published = 0;
    for (;;) {
      const count = await this.publishBatch();
      published += count;
      if (count < BATCH) break;
    }
    if (Date.now() - this.lastPruneAt >= PRUNE_EVERY_MS) await this.prune();
    return published;
  }

  private publishBatch(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      // Ordered by the bigint column (not the text output of the same name), through the index.
      const rows: OutboxRow[] = await manager.query(
        `SELECT id::text, topic, payload, created_at AS "createdAt" FROM outbox
         WHERE published_at IS NULL ORDER BY outbox.id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
      );
      if (rows.length === 0) return 0;
      const availabilityOf = await this.availability.ofEvents(
        rows.flatMap((row) =>
          row.topic === 'ticket_availability' ? [(row.payload as { eventId: string }).eventId] : [],
        ),
        manager,
      );
      const publications = rows.map((row): Publication => {
        const message = {
          ...row.payload,
          outboxId: row.id,
          at: new Date(row.createdAt).toISOString(),
        };
        if (row.topic === 'ticket_availability') {
          const { eventId } = row.payload as { eventId: string };
          Object.assign(message, { ticketTypes: availabilityOf.get(eventId)?.ticketTypes ?? [] });
        }
        return { topic: row.topic, message };
      });
      await this.bus.publish(publications);
      await manager.query(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [
        rows.map((row) => row.id),
      ]);
      return rows.length;
    });
  }

  /** Drops published rows and consumers' records older than the retention, in small batches. */
  async prune(): Promise<number> {
    this.lastPruneAt = Date.now();
    const retention = `${this.retentionHours} hours`;
    let pruned = 0;
    for (const [table, column] of [
      ['outbox', 'published_at'],
      ['consumed_messages', 'consumed_at'],
    ] as const) {
      for (;;) {
        const [, deleted]: [unknown, number] = await this.dataSource.query(
          `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM ${table} WHERE ${column} < now() - $1::interval LIMIT ${PRUNE_BATCH}))`,
          [retention],
        );
        pruned += deleted;
        if (deleted < PRUNE_BATCH) break;
      }
    }
    if (pruned > 0) this.logger.log(`Pruned ${pruned} outbox row(s) and consumer record(s)`);
    return pruned;
  }
}
