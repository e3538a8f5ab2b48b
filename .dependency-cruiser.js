// How the libraries may import each other, checked by `npm run lint` (docs/architecture.md
// explains the layout these rules keep).

/** Libraries that know no domain: any library may import them, they import none. */
const INFRASTRUCTURE = [
  'common',
  'config',
  'database',
  'embedded-database',
  'http',
  'metrics',
  'outbox',
  'redis',
];
const INFRASTRUCTURE_PATH = `^libs/(${INFRASTRUCTURE.join('|')})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'No import cycles, between files or (through their index) between libraries: a ' +
        'library that needs what a library above it provides declares an abstract class, ' +
        'and the app module binds it.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'infrastructure-imports-no-domain',
      severity: 'error',
      comment:
        'Infrastructure libraries (config, common, http, database, redis, outbox, ' +
        'embedded-database, metrics) import no domain library.',
      from: { path: INFRASTRUCTURE_PATH },
      to: { path: '^libs/', pathNot: INFRASTRUCTURE_PATH },
    },
    {
      name: 'libraries-import-no-apps',
      severity: 'error',
      comment: 'Libraries never import from apps/: the apps compose the libraries.',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'libraries-through-their-index',
      severity: 'error',
      comment:
        'Another library is imported as @app/<name> (its src/index.ts), never by a path into its files.',
      from: { path: '^(libs/[^/]+|apps)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: ['^$1/', '^libs/[^/]+/src/index\\.ts$'] },
    },
    {
      name: 'code-imports-no-tests',
      severity: 'error',
      comment: 'Code under libs/ and apps/ never imports test support.',
      from: { path: '^(libs|apps)/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle of types is a cycle of knowledge.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
