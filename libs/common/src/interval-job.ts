import { Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

/**
 * The shape of every background job: `run()` does one pass every `everyMs`, started with the
 * application; passes never overlap (a tick during a pass is skipped), and shutdown waits for
 * a pass in progress, so it never cuts a batch in half.
 */
export abstract class IntervalJob implements OnApplicationBootstrap, OnModuleDestroy {
  /** Named after the job's class. */
  protected readonly logger = new Logger(this.constructor.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly jobName: string,
    private readonly everyMs: number,
  ) {}

  /** One pass; returns how many items it handled. */
  abstract run(): Promise<number>;

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.run()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.error(`${this.jobName} failed: ${String(error)}`))
        .finally(() => (this.running = undefined));
    }, this.everyMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
