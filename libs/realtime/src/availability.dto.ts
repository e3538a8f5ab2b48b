import { IsUUID } from 'class-validator';

/** `subscribe` / `unsubscribe` on the availability namespace. */
export class AvailabilitySubscription {
  @IsUUID('all', { message: 'eventId must be an event id (a UUID)' })
  eventId!: string;
}
