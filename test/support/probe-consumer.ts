import { type DynamicModule, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConsumedMessages, MessageBus, OutboxModule } from '@app/outbox';

export const PROBE_GROUP = 'probe';
const INSTANCE = Symbol('INSTANCE');
const FAULTS = Symbol('FAULTS');

/** What the test makes the probe consumer do wrong. */
export interface ConsumerFaults {
  /** The next N messages fail in the handler (left unacknowledged, to be claimed again). */
  failNext: number;
}

/**
 * A consumer as the real ones are written: its effect (a row in probe_applied) and its
 * record of the message commit together, so a message delivered twice is applied once.
 * probe_applied has no unique key: a second application would show as a second row.
 */
@Injectable()
class ProbeConsumer implements OnModuleInit {
  constructor(
    private readonly bus: MessageBus,
    private readonly consumed: ConsumedMessages,
    private readonly dataSource: DataSource,
    @Inject(INSTANCE) private readonly instance: string,
    @Inject(FAULTS) private readonly faults: ConsumerFaults,
  ) {}

  onModuleInit(): void {
    this.bus.consume('ticket_availability', PROBE_GROUP, async (message) => {
      if (this.faults.failNext > 0) {
        this.faults.failNext -= 1;
        throw new Error('probe consumer failed on purpose');
      }
      await this.dataSource.transaction(async (manager) => {
        if (!(await this.consumed.claim(manager, PROBE_GROUP, message.outboxId))) return;
        await manager.query(
          `INSERT INTO probe_applied (outbox_id, event_id, instance) VALUES ($1, $2, $3)`,
          [message.outboxId, message.eventId, this.instance],
        );
      });
    });
  }
}

export const PROBE_APPLIED_TABLE = `CREATE TABLE IF NOT EXISTS probe_applied (
  outbox_id bigint NOT NULL, event_id uuid NOT NULL, instance text NOT NULL)`;

export function probeConsumerModule(instance: string, faults: ConsumerFaults): DynamicModule {
  return {
    module: class ProbeConsumerModule {},
    imports: [OutboxModule],
    providers: [
      ProbeConsumer,
      { provide: INSTANCE, useValue: instance },
      { provide: FAULTS, useValue: faults },
    ],
  };
}
