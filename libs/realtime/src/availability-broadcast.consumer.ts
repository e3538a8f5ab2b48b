import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { MessageBus } from '@app/outbox';
import { EventAvailability } from '@app/tickets';
import { AvailabilityGateway } from './availability.gateway';

/** At most one emission per event per this long (≤ 4 a second). */
export const COALESCE_MS = 250;

interface EventState {
  timer?: NodeJS.Timeout;
  emitting: boolean;
  /** A change arrived while emitting: emit again after. */
  again: boolean;
  lastEmittedAt: number;
}

/**
 * Turns the availability stream into socket updates for this instance's clients. Every
 * instance follows the whole stream (no consumer group) and emits to its own sockets only,
 * so a client's updates come from one instance, one after the other, in the order they were
 * read. Changes of one event are coalesced: the first schedules an emission, later ones
 * within COALESCE_MS ride along, and the counts are read when the timer fires, so the last
 * emission is read after the last change and equals the database, whatever the messages said.
 */
@Injectable()
export class AvailabilityBroadcastConsumer implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AvailabilityBroadcastConsumer.name);
  private readonly events = new Map<string, EventState>();

  constructor(
    private readonly bus: MessageBus,
    private readonly availability: EventAvailability,
    private readonly gateway: AvailabilityGateway,
  ) {}

  onModuleInit(): void {
    this.bus.follow('ticket_availability', (message) => {
      this.changed(message.eventId);
      return Promise.resolve();
    });
  }

  onModuleDestroy(): void {
    for (const state of this.events.values()) clearTimeout(state.timer);
    this.events.clear();
  }

  changed(eventId: string): void {
    if (!this.gateway.isWatched(eventId)) return;
    const state = this.events.get(eventId) ?? { emitting: false, again: false, lastEmittedAt: 0 };
    this.events.set(eventId, state);
    if (state.emitting) state.again = true;
    else if (!state.timer) this.schedule(eventId, state);
  }

  private schedule(eventId: string, state: EventState): void {
    const wait = Math.max(0, COALESCE_MS - (Date.now() - state.lastEmittedAt));
    state.timer = setTimeout(() => void this.emit(eventId, state), wait);
  }

  private async emit(eventId: string, state: EventState): Promise<void> {
    state.timer = undefined;
    state.emitting = true;
    state.again = false;
    state.lastEmittedAt = Date.now();
    try {
      const snapshot = await this.availability.of(eventId);
      if (snapshot) this.gateway.broadcastLocally(snapshot);
    } catch (error) {
      this.logger.warn(`Availability of event ${eventId} not sent: ${String(error)}`);
    } finally {
      state.emitting = false;
    }
    if (state.again) this.schedule(eventId, state);
    else if (!this.gateway.isWatched(eventId)) this.events.delete(eventId);
  }
}
