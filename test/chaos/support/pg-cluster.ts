import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../support/processes';

const BIN = '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);

/**
 * A PostgreSQL cluster of the suite's own (data and socket in a temp folder, a free port on
 * 127.0.0.1, trust auth), so that an outage hits no one else. As root, PostgreSQL runs as
 * the `postgres` OS user. `stop()` is `-m immediate` (like a crash); `start()` again keeps
 * the data. `destroy()` stops it and removes the folder.
 */
export class PgCluster {
  private running = false;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async create(): Promise<PgCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'chaos-pg-'));
    chmodSync(dir, 0o755);
    const cluster = new PgCluster(await freePort(), dir);
    if (userInfo().uid === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await cluster.pg('initdb', ['-D', cluster.data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    const cleanUp = () => {
      if (cluster.running) {
        void run(...cluster.command('pg_ctl', ['stop', '-D', cluster.data, '-m', 'immediate']));
      }
    };
    process.once('exit', cleanUp);
    await cluster.start();
    return cluster;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    await this.pg('pg_ctl', [
      'start',
      '-D',
      this.data,
      '-w',
      '-l',
      join(this.dir, 'log'),
      '-o',
      `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${this.dir} -c fsync=off -c max_connections=200`,
    ]);
    this.running = true;
  }

  /** Like a crash of the database server: every connection drops at once. */
  async stop(): Promise<void> {
    await this.pg('pg_ctl', ['stop', '-D', this.data, '-m', 'immediate', '-w']);
    this.running = false;
  }

  async destroy(): Promise<void> {
    if (this.running) await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private command(tool: string, args: string[]): [string, string[]] {
    const binary = join(BIN, tool);
    return userInfo().uid === 0
      ? ['runuser', ['-u', 'postgres', '--', binary, ...args]]
      : [binary, args];
  }

  private async pg(tool: string, args: string[]): Promise<void> {
    await run(...this.command(tool, args), { cwd: this.dir, timeout: 60_000 });
  }
}
