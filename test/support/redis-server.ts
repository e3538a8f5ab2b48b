import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import Redis from 'ioredis';
import { eventually } from './eventually';
import { freePort, killWithTestProcess } from './processes';

/**
 * A private `redis-server` on a free port, with no persistence, for tests that flush, stop
 * or restart Redis: the shared server the other suites use is never touched.
 */
export class RedisServer {
  private process?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  /** `extraArgs` go to redis-server, e.g. `['--enable-debug-command', 'yes']`. */
  static async start(extraArgs: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), extraArgs);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  /** A client for the test itself (not the app's), failing fast while the server is down. */
  client(): Redis {
    return new Redis(this.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 100,
    });
  }

  /** Starts (or restarts, empty) the server on its port and waits until it answers. */
  async start(): Promise<void> {
    if (this.process) return;
    const child = spawn(
      'redis-server',
      [
        ...['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    );
    this.process = child;
    killWithTestProcess(child, () => {
      if (this.process === child) this.process = undefined;
    });
    const probe = new Redis(this.port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // Refused until the server listens: expected, and not worth ioredis's stack on stderr.
    probe.on('error', () => undefined);
    try {
      await eventually(
        async () => {
          if (!this.process) throw new Error(`redis-server on port ${this.port} exited`);
          probe.disconnect();
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        },
        { timeoutMs: 10_000, what: `redis-server on port ${this.port} to start` },
      );
    } finally {
      probe.disconnect();
    }
  }

  /** Stops the server (SIGKILL: like a crash, and nothing is persisted anyway). */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
