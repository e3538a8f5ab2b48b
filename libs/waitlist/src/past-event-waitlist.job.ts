import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { IntervalJob } from '@app/common';

const EVERY_MS = 60_000;

/**
 * Closes (→ `expired`) the waiting entries of events that have started: nothing will be
 * offered to them any more. (Offers already made end with their orders; a cancelled
 * event's entries are closed by the cancellation itself.) Idempotent, safe in every
 * instance.
 */
@Injectable()
export class PastEventWaitlistJob extends IntervalJob {
  constructor(private readonly dataSource: DataSource) {
    super('Past event waitlists', EVERY_MS);
  }

  /** Returns how many entries were closed. */
  async run(): Promise<number> {
    const closed: unknown[] = await this.dataSource.query(
      `UPDATE waitlist_entries w SET status = 'expired', updated_at = now()
       FROM events e
       WHERE e.id = w.event_id AND w.status = 'waiting' AND e.starts_at <= now()
       RETURNING w.id`,
    );
    if (closed.length > 0) this.logger.log(`Closed ${closed.length} waitlist entr(ies)`);
    return closed.length;
  }
}
