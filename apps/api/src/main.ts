import 'reflect-metadata';
import { InvalidConfigurationError, loadEnvironment, type Environment } from '@app/config';
import { createApp } from './bootstrap';

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
  const app = await createApp(environment);
  await app.listen({ port: environment.PORT, host: '0.0.0.0' });
}

void main();
