/**
 * The standing reliability suite (issue 10): faults injected during booking storms against
 * the built server, its own redis-server and, for outages, its own PostgreSQL cluster.
 * `npm run test:chaos` runs the full profile; `npm test` runs the short one (CHAOS_PROFILE).
 */
const root = require('node:path').resolve(__dirname, '..', '..');

module.exports = {
  rootDir: root,
  displayName: 'chaos',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: 'test/chaos/.*\\.chaos-spec\\.ts$',
  transform: { '^.+\\.ts$': 'ts-jest' },
  moduleNameMapper: { '^@app/(.*)$': '<rootDir>/libs/$1/src' },
  globalSetup: '<rootDir>/test/chaos/support/global-setup.ts',
  setupFiles: ['<rootDir>/test/support/env.ts'],
  testTimeout: 180000,
  reporters: [
    'default',
    '<rootDir>/test/chaos/support/table-reporter.js',
    '<rootDir>/test/support/summary-reporter.js',
  ],
};
