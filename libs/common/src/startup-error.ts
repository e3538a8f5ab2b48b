/**
 * A failure to start whose message says, in one line, what went wrong and what to do.
 * Loggers print that line alone, without a stack: it is for the person who ran the command.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
