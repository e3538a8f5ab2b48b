import { ConsoleLogger } from '@nestjs/common';
import { StartupError } from '@app/common';

/** Nest's errors and warnings on stderr; a failure to start is its one line, no stack. */
export class CliLogger extends ConsoleLogger {
  constructor() {
    super('', { logLevels: ['error', 'warn'] });
  }

  override error(message: unknown, ...rest: unknown[]): void {
    if (message instanceof StartupError) process.stderr.write(`${message.message}\n`);
    else super.error(message, ...rest);
  }
}
