// `npm run cli -- …`: the built admin CLI, rebuilt first only if the sources changed.
require('./build-if-stale').buildIfStale();
require('../dist/apps/cli/src/main.js');
