/**
 * Two projects, both run by `npm test` (`npx jest --selectProjects unit` for the fast one):
 * - unit: `*.spec.ts` beside the code in libs/ and apps/; no database (a suite may start its
 *   own redis-server), no global setup.
 * - e2e: `test/**` suites against the real PostgreSQL and Redis that test/support/env.ts
 *   points at, the database emptied once by the global setup.
 */
const shared = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  moduleNameMapper: { '^@app/(.*)$': '<rootDir>/libs/$1/src' },
  setupFiles: ['<rootDir>/test/support/env.ts'],
};

module.exports = {
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/apps', '<rootDir>/libs'],
      testRegex: '.*\\.spec\\.ts$',
    },
    {
      ...shared,
      displayName: 'e2e',
      roots: ['<rootDir>/test'],
      testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
};
