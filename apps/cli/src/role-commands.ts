import { Injectable, type Type } from '@nestjs/common';
import { Command, CommandRunner, SubCommand } from 'nest-commander';
import { UnknownUserError } from './cli.errors';
import { UserRoles, type GrantedRole } from './user-roles';

/** How a command group speaks of the role it manages, and its help texts. */
interface RoleWords {
  role: GrantedRole;
  /** "x is now …" */
  holder: string;
  /** "3 …" in the list */
  plural: string;
  help: { command: string; grant: string; revoke: string; list: string };
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

/** A subcommand that reads or changes users' roles. */
@Injectable()
abstract class UserRolesCommand extends CommandRunner {
  constructor(protected readonly roles: UserRoles) {
    super();
  }
}

/**
 * The `<role>` command with its `grant`, `revoke` and `list` subcommands: one piece of code,
 * declared once per role with that role's words.
 */
function roleCommands(words: RoleWords): Type<CommandRunner>[] {
  @SubCommand({ name: 'grant', arguments: '<email>', description: words.help.grant })
  class GrantCommand extends UserRolesCommand {
    run([email]: string[]): Promise<void> {
      return reportingUnknownUser(async () => {
        const user = await this.roles.grant(email, words.role);
        process.stdout.write(
          user.role === words.role
            ? `${user.email} is now ${words.holder}.\n`
            : `${user.email} is an admin, which includes ${words.holder}.\n`,
        );
      });
    }
  }

  @SubCommand({ name: 'revoke', arguments: '<email>', description: words.help.revoke })
  class RevokeCommand extends UserRolesCommand {
    run([email]: string[]): Promise<void> {
      return reportingUnknownUser(async () => {
        const user = await this.roles.revoke(email, words.role);
        process.stdout.write(`${user.email} is no longer ${words.holder}.\n`);
      });
    }
  }

  @SubCommand({ name: 'list', description: words.help.list })
  class ListCommand extends UserRolesCommand {
    async run(): Promise<void> {
      const holders = await this.roles.list(words.role);
      const lines = holders.map((user) => `${user.email}\t${user.name}`);
      process.stdout.write(
        `${holders.length} ${words.plural}${lines.length ? `:\n${lines.join('\n')}` : '.'}\n`,
      );
    }
  }

  /** The parent command: help, or an error for an unknown subcommand. */
  @Command({
    name: words.role,
    description: words.help.command,
    subCommands: [GrantCommand, RevokeCommand, ListCommand],
  })
  class RoleCommand extends CommandRunner {
    run(passedParams: string[]): Promise<void> {
      if (passedParams.length > 0) {
        process.stderr.write(`Unknown ${words.role} command: ${passedParams.join(' ')}\n`);
        this.command.outputHelp({ error: true });
        process.exitCode = 1;
      } else {
        this.command.outputHelp();
      }
      return Promise.resolve();
    }
  }

  // nest-commander pairs a command with its subcommands by class name: one name per role.
  const role = words.role[0].toUpperCase() + words.role.slice(1);
  const named = (command: Type<CommandRunner>, name: string) =>
    Object.defineProperty(command, 'name', { value: name });
  return [
    named(RoleCommand, `${role}Command`),
    named(GrantCommand, `Grant${role}Command`),
    named(RevokeCommand, `Revoke${role}Command`),
    named(ListCommand, `List${role}Command`),
  ];
}

/** `admin` and `staff`: who may manage the server, and who checks tickets in at the door. */
export const ROLE_COMMANDS: Type<CommandRunner>[] = [
  ...roleCommands({
    role: 'admin',
    holder: 'an admin',
    plural: 'admin(s)',
    help: {
      command: 'Manage who has the admin role',
      grant: 'Give a user the admin role',
      revoke: 'Take the admin role away',
      list: 'List the admins',
    },
  }),
  ...roleCommands({
    role: 'staff',
    holder: 'door staff',
    plural: 'staff member(s)',
    help: {
      command: 'Manage who checks tickets in at the door (the staff role)',
      grant: 'Give a user the staff role (check tickets in at the door)',
      revoke: 'Take the staff role away',
      list: 'List the door staff',
    },
  }),
];
