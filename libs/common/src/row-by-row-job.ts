import type { DataSource } from 'typeorm';
import { IntervalJob } from './interval-job';
import { backoffSettings, RowBackoff, type BackoffConfig } from './row-backoff';

/** An IntervalJob that acts on rows one by one, each with its own RowBackoff. */
export abstract class RowByRowJob extends IntervalJob {
  protected readonly backoff: RowBackoff;

  /** `key` names the job's rows in job_row_attempts. */
  constructor(
    name: string,
    everyMs: number,
    key: string,
    protected readonly dataSource: DataSource,
    config: BackoffConfig,
  ) {
    super(name, everyMs);
    this.backoff = new RowBackoff(dataSource, key, backoffSettings(config), this.logger);
  }

  /** Rows the job gave up on, left for a human. */
  needingAttention(): Promise<number> {
    return this.backoff.needingAttention();
  }
}
