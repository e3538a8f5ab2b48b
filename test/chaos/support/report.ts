import { appendFileSync, existsSync } from 'node:fs';

/** One row of the table the suite prints at the end (see table-reporter.js). */
export interface ChaosLine {
  fault: string;
  requests: number;
  created: number;
  conflicts: number;
  unavailable: number;
  /** Any other answer: connection errors while the app is down, 5xx other than 503, hangs. */
  other: number;
  violations: number;
  /** From the end of the fault to the first booking answered 201/409 again; null: none. */
  recoveryMs: number | null;
  /** Slowest answer of the storm, and slowest 503. */
  maxMs: number;
  slowest503Ms?: number;
}

export const RESULTS_FILE_VARIABLE = 'CHAOS_RESULTS_FILE';

export function formatLine(line: ChaosLine): string {
  const recovery = line.recoveryMs === null ? '-' : `${(line.recoveryMs / 1000).toFixed(2)} s`;
  return [
    line.fault.padEnd(44),
    String(line.requests).padStart(8),
    String(line.created).padStart(6),
    String(line.conflicts).padStart(6),
    String(line.unavailable).padStart(6),
    String(line.other).padStart(6),
    String(line.violations).padStart(10),
    recovery.padStart(9),
    `${line.maxMs} ms`.padStart(9),
    (line.slowest503Ms ? `${line.slowest503Ms} ms` : '-').padStart(9),
  ].join(' | ');
}

export const TABLE_HEADER = [
  'fault'.padEnd(44),
  'requests'.padStart(8),
  '201'.padStart(6),
  '409'.padStart(6),
  '503'.padStart(6),
  'other'.padStart(6),
  'violations'.padStart(10),
  'recovery'.padStart(9),
  'slowest'.padStart(9),
  'slow 503'.padStart(9),
].join(' | ');

/** The line of a check that runs no storm: only its requests and violations count. */
export function recordCheck(fault: string, requests: number, violations: number): void {
  recordLine({
    fault,
    requests,
    created: 0,
    conflicts: 0,
    unavailable: 0,
    other: 0,
    violations,
    recoveryMs: null,
    maxMs: 0,
  });
}

/**
 * A row of the results file (one JSON object a line), which table-reporter.js prints at the
 * end of the run: the header, then the scenarios that ran, then those the profile left out.
 */
export interface ResultRow {
  kind: 'header' | 'ran' | 'not run';
  text: string;
}

/** Prints the line now and keeps it for the table at the end of the run. */
export function recordLine(line: ChaosLine): void {
  keep({ kind: 'ran', text: formatLine(line) });
}

/** A scenario this run leaves out, listed in the table with the reason (never just absent). */
export function recordNotRun(fault: string, reason: string): void {
  keep({ kind: 'not run', text: `${fault.padEnd(44)} | ${reason}` });
}

function keep(row: ResultRow): void {
  process.stdout.write(`chaos: ${row.text}\n`);
  const file = process.env[RESULTS_FILE_VARIABLE];
  if (!file) return;
  if (!existsSync(file))
    appendFileSync(file, `${JSON.stringify({ kind: 'header', text: TABLE_HEADER })}\n`);
  appendFileSync(file, `${JSON.stringify(row)}\n`);
}
