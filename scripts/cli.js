// `npm run cli -- …`: the built admin CLI, rebuilt first only if the sources changed.
// Every call loads ~2,000 modules; V8's compiled code is cached between calls (in the
// system's temp folder), which saves about a quarter of the start. v8-compile-cache
// predates require(esm) (Node 20.19+): ES modules are left to Node's own loader.
const Module = require('node:module');
const compileWithNode = Module.prototype._compile;
require('v8-compile-cache');
const compileWithCache = Module.prototype._compile;
Module.prototype._compile = function compile(content, filename, format) {
  return format === 'module' || filename.endsWith('.mjs')
    ? compileWithNode.call(this, content, filename, format)
    : compileWithCache.call(this, content, filename);
};

require('./build-if-stale').buildIfStale();
require('../dist/apps/cli/src/main.js');
