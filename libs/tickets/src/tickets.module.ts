import { Logger, Module } from '@nestjs/common';
import { reportConnectionState } from '@app/redis';
import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import { EventAvailability } from './event-availability';
import { InventoryReconcileJob } from './inventory-reconcile.job';
import { InProcessTicketLockStore } from './lock/in-process-ticket-lock.store';
import { LATE_ANSWER_MS, RedisTicketLockStore } from './lock/redis-ticket-lock.store';
import { TicketLockService } from './lock/ticket-lock.service';
import { TicketLockStore } from './lock/ticket-lock.store';
import { TicketInventory } from './ticket-inventory';
import { TicketTransactions } from './ticket-transactions';

@Module({
  providers: [
    EventAvailability,
    TicketInventory,
    TicketLockService,
    TicketTransactions,
    InventoryReconcileJob,
    {
      provide: TicketLockStore,
      inject: [{ token: getRedisConnectionToken(), optional: true }],
      useFactory: (redis?: Redis) =>
        redis
          ? new RedisTicketLockStore(
              // Its own connection, whose commands may answer late: see LATE_ANSWER_MS.
              reportConnectionState(
                redis.duplicate({ commandTimeout: LATE_ANSWER_MS, lazyConnect: false }),
                new Logger('TicketLockStore'),
                'The lock store',
              ),
            )
          : new InProcessTicketLockStore(),
    },
  ],
  exports: [
    EventAvailability,
    TicketInventory,
    TicketLockService,
    TicketTransactions,
    InventoryReconcileJob,
  ],
})
export class TicketsModule {}
