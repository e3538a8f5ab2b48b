import { Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

/**
 * Runs a task every `ms` without overlapping runs; `stop()` waits for a run in progress so
 * shutdown never cuts a batch in half.
 */
export class IntervalJob {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly name: string,
    private readonly ms: number,
    private readonly task: () => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.task()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.error(`${this.name} failed: ${String(error)}`))
        .finally(() => (this.running = undefined));
    }, this.ms);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

/**
 * The shape of every background job: `run()` does one pass, started with the application
 * and stopped (waiting for a pass in progress) with it; passes never overlap.
 */
export abstract class ScheduledJob implements OnApplicationBootstrap, OnModuleDestroy {
  /** Named after the job's class. */
  protected readonly logger = new Logger(this.constructor.name);
  private interval?: IntervalJob;

  constructor(
    private readonly jobName: string,
    private readonly everyMs: number,
  ) {}

  /** One pass; returns how many items it handled. */
  abstract run(): Promise<number>;

  onApplicationBootstrap(): void {
    this.interval = new IntervalJob(this.jobName, this.everyMs, () => this.run(), this.logger);
    this.interval.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.interval?.stop();
  }
}
