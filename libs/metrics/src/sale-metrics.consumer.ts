import { Injectable, type OnModuleInit } from '@nestjs/common';
import { MessageBus, METRICS_CONSUMER_GROUP, type MessageOf } from '@app/outbox';
import { Metrics } from './metrics';

const REASONS = new Set(['expired', 'cancelled', 'failed', 'refunded']);

/**
 * Counts the sale from the availability stream rather than from inside each use case: what
 * is counted is what committed, and the domain code stays free of instrumentation. One
 * consumer group across instances, so each change is counted by one instance (sum the
 * instances' series). A message delivered again after a relay crash may be counted twice.
 */
@Injectable()
export class SaleMetricsConsumer implements OnModuleInit {
  constructor(
    private readonly bus: MessageBus,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.bus.consume('ticket_availability', METRICS_CONSUMER_GROUP, (message) =>
      this.count(message),
    );
  }

  private count(message: MessageOf<'ticket_availability'>): Promise<void> {
    switch (message.type) {
      case 'locked':
        this.metrics.holds.inc();
        break;
      case 'sold':
        this.metrics.ticketsSold.inc(message.quantity ?? 0);
        break;
      case 'unlocked':
        this.metrics.releases.inc({
          reason: message.reason && REASONS.has(message.reason) ? message.reason : 'other',
        });
        break;
      case 'inventory':
        break;
    }
    return Promise.resolve();
  }
}
