import type { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { DataSource } from 'typeorm';
import type { Environment } from '@app/config';

export interface BackoffSettings {
  /** Attempts after which a row is left for a human. */
  maxAttempts: number;
  /** Wait after the first failure; doubles with each further one... */
  baseMs: number;
  /** ...up to this. */
  maxMs: number;
}

export type BackoffConfig = ConfigService<
  Pick<Environment, 'JOB_MAX_ATTEMPTS' | 'JOB_BACKOFF_BASE_MS' | 'JOB_BACKOFF_MAX_MS'>,
  true
>;

export function backoffSettings(config: BackoffConfig): BackoffSettings {
  return {
    maxAttempts: config.get('JOB_MAX_ATTEMPTS', { infer: true }),
    baseMs: config.get('JOB_BACKOFF_BASE_MS', { infer: true }),
    maxMs: config.get('JOB_BACKOFF_MAX_MS', { infer: true }),
  };
}

/**
 * Per-row retries of a job that acts on rows one by one (a call to the payment provider per
 * order): a failing row waits exponentially longer before its next attempt, so it never
 * holds back the rows after it, and after `maxAttempts` it is marked for a human (logged at
 * error level, counted by `needingAttention`) and left out of the job's batches.
 *
 * State lives in `job_row_attempts`, keyed by job and row id; a row without an entry is due.
 * A human clears a marked row by deleting its entry (the job then tries it again).
 */
export class RowBackoff {
  constructor(
    private readonly dataSource: DataSource,
    private readonly job: string,
    private readonly settings: BackoffSettings,
    private readonly logger: Logger,
  ) {}

  /** SQL condition: the row whose id is `idColumn` may be attempted now. */
  dueSql(idColumn: string): string {
    return `NOT EXISTS (
      SELECT 1 FROM job_row_attempts a
      WHERE a.job = '${this.job}' AND a.row_id = ${idColumn}
        AND (a.attention_at IS NOT NULL OR a.next_attempt_at > now()))`;
  }

  /**
   * Runs `attempt` for each row in turn. An error that `isTransient` recognises (the
   * provider is unreachable: every row would fail alike) ends the pass without counting
   * against the row; any other error pushes the row back. Returns how many succeeded.
   */
  async forEach<T>(
    rows: T[],
    idOf: (row: T) => string,
    attempt: (row: T) => Promise<void>,
    isTransient: (error: unknown) => boolean,
  ): Promise<number> {
    let succeeded = 0;
    for (const row of rows) {
      try {
        await attempt(row);
      } catch (error) {
        if (isTransient(error)) {
          this.logger.warn(`${this.job}: provider unavailable, trying later: ${message(error)}`);
          break;
        }
        await this.failed(idOf(row), error);
        continue;
      }
      await this.succeeded(idOf(row));
      succeeded += 1;
    }
    return succeeded;
  }

  /** How many rows this job gave up on and left for a human. */
  async needingAttention(): Promise<number> {
    const [{ count }]: { count: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS count FROM job_row_attempts WHERE job = $1 AND attention_at IS NOT NULL`,
      [this.job],
    );
    return count;
  }

  private async failed(rowId: string, error: unknown): Promise<void> {
    const { maxAttempts, baseMs, maxMs } = this.settings;
    const [row]: { attempts: number; attention: boolean }[] = await this.dataSource.query(
      `INSERT INTO job_row_attempts AS a (job, row_id, attempts, next_attempt_at, last_error, attention_at)
       VALUES ($1, $2, 1, now() + make_interval(secs => $3::float8 / 1000), $5,
               CASE WHEN $4::int <= 1 THEN now() END)
       ON CONFLICT (job, row_id) DO UPDATE SET
         attempts = a.attempts + 1,
         next_attempt_at = now() + make_interval(secs => least($3::float8 * 2 ^ a.attempts, $6::float8) / 1000),
         last_error = $5,
         attention_at = CASE WHEN a.attempts + 1 >= $4::int THEN now() END
       RETURNING attempts, attention_at IS NOT NULL AS attention`,
      [this.job, rowId, baseMs, maxAttempts, message(error), maxMs],
    );
    if (row.attention)
      this.logger.error(
        `${this.job}: gave up on ${rowId} after ${row.attempts} attempts, needs a human: ${message(error)}`,
      );
    else
      this.logger.warn(
        `${this.job}: attempt ${row.attempts} on ${rowId} failed, retrying later: ${message(error)}`,
      );
  }

  private async succeeded(rowId: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM job_row_attempts WHERE job = $1 AND row_id = $2`, [
      this.job,
      rowId,
    ]);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
