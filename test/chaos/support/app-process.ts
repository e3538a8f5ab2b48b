import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { eventually } from '../../support/eventually';
import { freePort, killWithTestProcess, SERVER_MAIN } from '../../support/processes';

/** The JWT secret every chaos app signs with (the suite signs its buyers' tokens with it). */
export const CHAOS_JWT_SECRET = 'chaos-secret-that-is-long-enough-for-hs256-0123456789';

/**
 * The built server (dist/) as a real process on a free port of 127.0.0.1, its output kept
 * for the log scan. `kill()` is SIGKILL (a crash); `start()` again reuses the same port.
 */
export class AppProcess {
  private child?: ChildProcess;
  private exited?: Promise<unknown>;
  /** Everything the process wrote, over all its starts. */
  output = '';

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly nodeArgs: string[],
  ) {}

  /** `nodeArgs` go to node before the server's script (e.g. `--require` a probe). */
  static async start(env: Record<string, string>, nodeArgs: string[] = []): Promise<AppProcess> {
    const app = new AppProcess(await freePort(), env, nodeArgs);
    await app.start();
    return app;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(process.execPath, [...this.nodeArgs, SERVER_MAIN], {
      // Not the repository: no developer's .env is read.
      cwd: tmpdir(),
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        PORT: String(this.port),
        JWT_SECRET: CHAOS_JWT_SECRET,
        AUTH_RATE_LIMIT: '0',
        // With a database: the simulator only when asked for (a Stripe key, where set, wins).
        PAYMENT_SIMULATOR: 'true',
        LOG_LEVEL: 'warn',
        PUBLIC_URL: `http://127.0.0.1:${this.port}`,
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = once(child, 'exit');
    const keep = (chunk: Buffer) => (this.output += chunk.toString('utf8'));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    killWithTestProcess(child, () => {
      if (this.child === child) this.child = undefined;
    });
    await eventually(
      async () => {
        if (this.child !== child)
          throw new Error(`the server exited:\n${this.output.slice(-4000)}`);
        const answer = await fetch(`${this.url}/health/ready`).catch(() => undefined);
        return answer?.status === 200;
      },
      { timeoutMs: 90_000, intervalMs: 200, what: `the server on port ${this.port} to be ready` },
    );
  }

  /** SIGKILL: no shutdown hooks, requests in flight are cut. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** A graceful stop (SIGTERM), falling back to SIGKILL. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
