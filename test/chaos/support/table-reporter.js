// Prints the chaos table at the end of the run: the header and one line per fault, as
// test/chaos/support/report.ts wrote them while the scenarios ran.
const { existsSync, readFileSync } = require('node:fs');

class ChaosTableReporter {
  onRunComplete() {
    const file = process.env.CHAOS_RESULTS_FILE;
    if (!file || !existsSync(file)) return;
    const [header, ...lines] = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const rule = '-'.repeat(header.length);
    const profile = process.env.CHAOS_PROFILE === 'full' ? 'full' : 'short';
    process.stdout.write(
      `\nChaos suite (${profile} profile)\n${[rule, header, rule, ...lines, rule].join('\n')}\n`,
    );
  }
}

module.exports = ChaosTableReporter;
