import 'reflect-metadata';
import cluster from 'node:cluster';
import { InvalidConfigurationError, loadEnvironment, type Environment } from '@app/config';
import { createApp } from './bootstrap';
import { logFormat } from './http/log-format';
import { bannerText, startupBanner } from './startup-banner';

const REFORK_DELAY_MS = 1000;

function log(level: 30 | 40 | 50, msg: string): void {
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), context: 'Cluster', msg })}\n`);
}

/**
 * WEB_CONCURRENCY > 1: this process only supervises that many server processes sharing the
 * port. The first one starts alone (it runs the pending migrations), the others once it
 * listens; a worker that dies is replaced; SIGTERM/SIGINT stop them all gracefully.
 */
function superviseWorkers(count: number): void {
  let stopping = false;
  cluster.fork();
  cluster.once('listening', () => {
    for (let i = 1; i < count; i++) cluster.fork();
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log(50, `Worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    setTimeout(() => cluster.fork(), REFORK_DELAY_MS);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stopping = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    });
  }
  log(30, `Supervising ${count} server processes`);
}

async function main(): Promise<void> {
  let environment: Environment;
  try {
    environment = loadEnvironment();
  } catch (error) {
    if (error instanceof InvalidConfigurationError) {
      process.stderr.write(`Invalid configuration, not starting:\n${error.problems.join('\n')}\n`);
      process.exit(1);
    }
    throw error;
  }
  if (cluster.isPrimary && environment.WEB_CONCURRENCY > 1) {
    superviseWorkers(environment.WEB_CONCURRENCY);
    return;
  }
  const app = await createApp(environment);
  await app.listen({ port: environment.PORT, host: '0.0.0.0' });
  // One banner, not one per worker.
  if (cluster.isPrimary || cluster.worker?.id === 1) {
    const banner = startupBanner(environment);
    if (logFormat(environment) === 'pretty') process.stdout.write(bannerText(banner));
    else app.getHttpAdapter().getInstance().log.info(banner, `Ready: API at ${banner.api}`);
  }
}

void main();
