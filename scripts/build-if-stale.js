// Builds dist/ (`npm run build`) only when a source or build setting is newer than the last
// build, so `npm start` and `npm run cli` do not pay for a TypeScript build every time.
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync, utimesSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const BUILD_INFO = 'dist/.tsbuildinfo';
const OUTPUTS = ['dist/apps/api/src/main.js', 'dist/apps/cli/src/main.js'];
const SOURCE_DIRS = ['apps', 'libs', 'migrations'];
const SETTINGS = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];

/** TypeScript sources, and the static files the build copies (the dashboard's assets). */
function isBuilt(dir, name) {
  return (name.endsWith('.ts') && !name.endsWith('.spec.ts')) || /[\\/]assets([\\/]|$)/.test(dir);
}

function newestSource(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (isBuilt(dir, entry.name)) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/** Whether the build in `root`/dist is missing or older than a source or build setting. */
function isStale(root = ROOT) {
  if (![BUILD_INFO, ...OUTPUTS].every((file) => existsSync(join(root, file)))) return true;
  const builtAt = statSync(join(root, BUILD_INFO)).mtimeMs;
  const newest = Math.max(
    ...SOURCE_DIRS.map((dir) => newestSource(join(root, dir))),
    ...SETTINGS.map((file) => statSync(join(root, file)).mtimeMs),
  );
  return newest > builtAt;
}

function buildIfStale() {
  if (!isStale()) return;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  // tsc may leave its build info untouched when no output changed.
  const now = new Date();
  utimesSync(join(ROOT, BUILD_INFO), now, now);
}

module.exports = { buildIfStale, isStale };
if (require.main === module) buildIfStale();
