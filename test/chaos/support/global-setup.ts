import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import globalSetup from '../../support/global-setup';
import { RESULTS_FILE_VARIABLE } from './report';

/** The usual empty test database and Redis db, and a fresh file for the table's lines. */
export default async function chaosGlobalSetup(): Promise<void> {
  await globalSetup();
  process.env[RESULTS_FILE_VARIABLE] = join(
    mkdtempSync(join(tmpdir(), 'chaos-results-')),
    'lines.jsonl',
  );
}
