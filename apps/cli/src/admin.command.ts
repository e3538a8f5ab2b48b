import { Command, CommandRunner, SubCommand } from 'nest-commander';
import { UnknownUserError, UsersService } from '@app/users';

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

@SubCommand({ name: 'grant', arguments: '<email>', description: 'Give a user the admin role' })
export class GrantAdminCommand extends CommandRunner {
  constructor(private readonly users: UsersService) {
    super();
  }

  run([email]: string[]): Promise<void> {
    return reportingUnknownUser(async () => {
      const user = await this.users.setRole(email, 'admin');
      process.stdout.write(`${user.email} is now an admin.\n`);
    });
  }
}

@SubCommand({ name: 'revoke', arguments: '<email>', description: 'Take the admin role away' })
export class RevokeAdminCommand extends CommandRunner {
  constructor(private readonly users: UsersService) {
    super();
  }

  run([email]: string[]): Promise<void> {
    return reportingUnknownUser(async () => {
      const user = await this.users.setRole(email, 'customer');
      process.stdout.write(`${user.email} is no longer an admin.\n`);
    });
  }
}

@SubCommand({ name: 'list', description: 'List the admins' })
export class ListAdminsCommand extends CommandRunner {
  constructor(private readonly users: UsersService) {
    super();
  }

  async run(): Promise<void> {
    const admins = await this.users.listAdmins();
    const lines = admins.map((admin) => `${admin.email}\t${admin.name}`);
    process.stdout.write(
      `${admins.length} admin(s)${lines.length ? `:\n${lines.join('\n')}` : '.'}\n`,
    );
  }
}

@Command({
  name: 'admin',
  description: 'Manage who has the admin role',
  subCommands: [GrantAdminCommand, RevokeAdminCommand, ListAdminsCommand],
})
export class AdminCommand extends CommandRunner {
  run(passedParams: string[]): Promise<void> {
    if (passedParams.length > 0) {
      process.stderr.write(`Unknown admin command: ${passedParams.join(' ')}\n`);
      this.command.outputHelp({ error: true });
      process.exitCode = 1;
    } else {
      this.command.outputHelp();
    }
    return Promise.resolve();
  }
}
