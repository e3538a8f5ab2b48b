import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { MessageBus } from '@app/outbox';
import { EventAvailability } from '@app/tickets';
import { AvailabilityGateway } from './availability.gateway';

/** At most one emission per event per this long, per instance (≤ 4 a second). */
export const COALESCE_MS = 250;

/**
 * Turns the availability stream into socket updates. Changes of one event are coalesced:
 * the first schedules an emission, later ones within COALESCE_MS ride along; when the timer
 * fires the counts are read then, so the last emission equals the database whatever the
 * messages said. One consumer group across instances (the Redis adapter reaches every
 * instance's clients). Two instances may each emit for one event; clients keep the snapshot
 * with the latest `at` (PostgreSQL's clock at the read).
 */
@Injectable()
export class AvailabilityBroadcaster implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AvailabilityBroadcaster.name);
  private readonly scheduled = new Map<string, NodeJS.Timeout>();
  private readonly lastEmittedAt = new Map<string, number>();

  constructor(
    private readonly bus: MessageBus,
    private readonly availability: EventAvailability,
    private readonly gateway: AvailabilityGateway,
  ) {}

  onModuleInit(): void {
    this.bus.consume('ticket_availability', 'realtime', (message) => {
      this.changed(message.eventId);
      return Promise.resolve();
    });
  }

  onModuleDestroy(): void {
    for (const timer of this.scheduled.values()) clearTimeout(timer);
    this.scheduled.clear();
  }

  changed(eventId: string): void {
    if (this.scheduled.has(eventId)) return;
    const since = Date.now() - (this.lastEmittedAt.get(eventId) ?? 0);
    const timer = setTimeout(() => void this.emit(eventId), Math.max(0, COALESCE_MS - since));
    this.scheduled.set(eventId, timer);
  }

  private async emit(eventId: string): Promise<void> {
    this.lastEmittedAt.set(eventId, Date.now());
    // Changes arriving from here on schedule the next emission.
    this.scheduled.delete(eventId);
    try {
      const snapshot = await this.availability.of(eventId);
      if (snapshot) this.gateway.broadcast(snapshot);
    } catch (error) {
      this.logger.warn(`Availability of event ${eventId} not sent: ${String(error)}`);
    }
  }
}
