import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-row retries of the background jobs (RowBackoff): how often a job failed on a row, when
 * it may try again, and when it gave up and left the row for a human, with the last error.
 */
export class JobBackoff1764000300000 implements MigrationInterface {
  name = 'JobBackoff1764000300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE job_row_attempts (
        job text NOT NULL,
        row_id uuid NOT NULL,
        attempts integer NOT NULL CHECK (attempts > 0),
        next_attempt_at timestamptz NOT NULL,
        last_error text NOT NULL,
        attention_at timestamptz,
        PRIMARY KEY (job, row_id)
      )`);
    await queryRunner.query(
      `CREATE INDEX job_row_attempts_attention_idx ON job_row_attempts (job) WHERE attention_at IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE job_row_attempts`);
  }
}
