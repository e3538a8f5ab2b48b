import { Injectable } from '@nestjs/common';
import { CommandRunner } from 'nest-commander';
import { UnknownUserError } from './cli.errors';
import { UserRoles } from './user-roles';

/** How a command group speaks of the role it manages. */
export interface RoleWords {
  role: 'admin' | 'staff';
  /** "x is now …" */
  holder: string;
  /** "3 …" in the list */
  plural: string;
}

/** Prints a domain failure as one line on stderr and fails the process, instead of a stack. */
async function reportingUnknownUser(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof UnknownUserError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  }
}

// The `grant`, `revoke` and `list` subcommands and their parent, shared by `admin` and
// `staff`: each role declares its own decorated subclasses with its words.

@Injectable()
export abstract class GrantRoleCommand extends CommandRunner {
  protected abstract readonly words: RoleWords;

  constructor(private readonly roles: UserRoles) {
    super();
  }

  run([email]: string[]): Promise<void> {
    return reportingUnknownUser(async () => {
      const user = await this.roles.grant(email, this.words.role);
      process.stdout.write(
        user.role === this.words.role
          ? `${user.email} is now ${this.words.holder}.\n`
          : `${user.email} is an admin, which includes ${this.words.holder}.\n`,
      );
    });
  }
}

@Injectable()
export abstract class RevokeRoleCommand extends CommandRunner {
  protected abstract readonly words: RoleWords;

  constructor(private readonly roles: UserRoles) {
    super();
  }

  run([email]: string[]): Promise<void> {
    return reportingUnknownUser(async () => {
      const user = await this.roles.revoke(email, this.words.role);
      process.stdout.write(`${user.email} is no longer ${this.words.holder}.\n`);
    });
  }
}

@Injectable()
export abstract class ListRoleCommand extends CommandRunner {
  protected abstract readonly words: RoleWords;

  constructor(private readonly roles: UserRoles) {
    super();
  }

  async run(): Promise<void> {
    const holders = await this.roles.list(this.words.role);
    const lines = holders.map((user) => `${user.email}\t${user.name}`);
    process.stdout.write(
      `${holders.length} ${this.words.plural}${lines.length ? `:\n${lines.join('\n')}` : '.'}\n`,
    );
  }
}

/** The parent command: help, or an error for an unknown subcommand. */
export abstract class RoleCommand extends CommandRunner {
  protected abstract readonly words: RoleWords;

  run(passedParams: string[]): Promise<void> {
    if (passedParams.length > 0) {
      process.stderr.write(`Unknown ${this.words.role} command: ${passedParams.join(' ')}\n`);
      this.command.outputHelp({ error: true });
      process.exitCode = 1;
    } else {
      this.command.outputHelp();
    }
    return Promise.resolve();
  }
}
