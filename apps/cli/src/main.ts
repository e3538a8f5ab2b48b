import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { InvalidConfigurationError, loadEnvironment } from '@app/config';
import { CliModule } from './cli.module';

async function main(): Promise<void> {
  try {
    const environment = loadEnvironment();
    await CommandFactory.run(CliModule.forRoot(environment), {
      cliName: 'npm run cli --',
      logger: ['error', 'warn'],
      errorHandler: (error) => {
        process.stderr.write(`${error.message}\n`);
        process.exit(1);
      },
    });
  } catch (error) {
    const message =
      error instanceof InvalidConfigurationError
        ? `Invalid configuration:\n${error.problems.join('\n')}`
        : (error as Error).message;
    process.stderr.write(`${message}\n`);
    process.exitCode = 1;
  }
}

void main();
