// Prints the chaos table at the end of the run: the header, one line per scenario that ran,
// then one per scenario the profile left out, with the reason, as test/chaos/support/report.ts
// wrote them (JSON lines) while the suites were collected and run.
const { existsSync, readFileSync } = require('node:fs');

class ChaosTableReporter {
  onRunComplete() {
    const file = process.env.CHAOS_RESULTS_FILE;
    if (!file || !existsSync(file)) return;
    const rows = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    const texts = (kind) => rows.filter((row) => row.kind === kind).map((row) => row.text);
    const [header] = texts('header');
    const notRun = texts('not run');
    const rule = '-'.repeat(header.length);
    const profile = process.env.CHAOS_PROFILE === 'full' ? 'full' : 'short';
    const table = [rule, header, rule, ...texts('ran'), rule];
    if (notRun.length > 0) table.push(...notRun, rule);
    process.stdout.write(`\nChaos suite (${profile} profile)\n${table.join('\n')}\n`);
  }
}

module.exports = ChaosTableReporter;
