// Ends the run with the plain closing line CI tools read: "Tests: N passed, N failed".
class SummaryReporter {
  onRunComplete(_contexts, results) {
    process.stdout.write(
      `Tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed\n`,
    );
  }
}

module.exports = SummaryReporter;
