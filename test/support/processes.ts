import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/** Helpers for the suites that run the built server and CLI as real processes. */

export const ROOT = resolve(__dirname, '..', '..');
export const SERVER_MAIN = join(ROOT, 'dist', 'apps', 'api', 'src', 'main.js');
export const CLI_MAIN = join(ROOT, 'dist', 'apps', 'cli', 'src', 'main.js');

const BUILD_INFO = join(ROOT, 'dist', '.tsbuildinfo');
const BUILD_LOCK = join(tmpdir(), `ticketing-build-${Buffer.from(ROOT).toString('hex')}.lock`);
const SOURCE_DIRS = ['apps', 'libs', 'migrations'];

function newestSourceMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

function isBuildFresh(): boolean {
  if (!existsSync(SERVER_MAIN) || !existsSync(CLI_MAIN) || !existsSync(BUILD_INFO)) return false;
  const builtAt = statSync(BUILD_INFO).mtimeMs;
  return SOURCE_DIRS.every((dir) => newestSourceMtime(join(ROOT, dir)) <= builtAt);
}

/**
 * Builds dist/ (`npm run build`) unless it is newer than every source file, e.g. right after
 * `npm test` built it. Suites in parallel workers take turns through a lock directory.
 */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (isBuildFresh()) return;
    try {
      mkdirSync(BUILD_LOCK);
    } catch {
      // Another worker is building (or crashed while building: the lock goes stale).
      if (existsSync(BUILD_LOCK) && Date.now() - statSync(BUILD_LOCK).mtimeMs > 120_000) {
        rmSync(BUILD_LOCK, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error('Timed out waiting for another build of dist/');
      await new Promise((resolveWait) => setTimeout(resolveWait, 250));
      continue;
    }
    try {
      if (isBuildFresh()) return;
      await promisify(execFile)('npm', ['run', 'build', '--silent'], {
        cwd: ROOT,
        maxBuffer: 16 * 1024 * 1024,
      }).catch((error: { stdout?: string; stderr?: string }) => {
        throw new Error(`npm run build failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
      });
      // tsc may leave its build info untouched when no output changed.
      const now = new Date();
      utimesSync(BUILD_INFO, now, now);
      return;
    } finally {
      rmSync(BUILD_LOCK, { recursive: true, force: true });
    }
  }
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('No port'));
      });
    });
  });
}

/**
 * A child that never outlives the test process, even one that dies without running afterAll
 * (SIGKILL at its exit); `onExit` runs when the child exits first.
 */
export function killWithTestProcess(child: ChildProcess, onExit: () => void): void {
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => {
    process.removeListener('exit', killOnExit);
    onExit();
  });
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built admin CLI to completion. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  { cwd = ROOT, timeoutMs = 60_000 }: { cwd?: string; timeoutMs?: number } = {},
): Promise<Finished> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd, env, stdio: 'pipe' });
  return collect(child, timeoutMs);
}

/** Output so far and the exit of a spawned process (killed if it outlives `timeoutMs`). */
export function collect(child: ChildProcess, timeoutMs: number): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolveExit, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Process did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveExit({ code, signal, stdout, stderr });
    });
  });
}

/** Whether a process with that id is alive (signal 0 probes without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
