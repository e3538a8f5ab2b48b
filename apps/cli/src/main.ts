import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { InvalidConfigurationError, loadEnvironment } from '@app/config';
import { CliLogger } from './cli-logger';
import { CliModule } from './cli.module';

async function main(): Promise<void> {
  try {
    const environment = loadEnvironment();
    await CommandFactory.run(CliModule.forRoot(environment), {
      cliName: 'npm run cli --',
      logger: new CliLogger(),
      errorHandler: (error) => {
        // Commander has already printed its own errors and help; `--help` is a success.
        const { code, exitCode } = error as Error & { code?: string; exitCode?: number };
        const fromCommander = code?.startsWith('commander.') ?? false;
        if (!fromCommander) process.stderr.write(`${error.message}\n`);
        process.exit(fromCommander ? (exitCode ?? 1) : 1);
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
