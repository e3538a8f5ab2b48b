import { Command, SubCommand } from 'nest-commander';
import {
  GrantRoleCommand,
  ListRoleCommand,
  RevokeRoleCommand,
  RoleCommand,
  type RoleWords,
} from './role-commands';

const ADMIN: RoleWords = { role: 'admin', holder: 'an admin', plural: 'admin(s)' };

@SubCommand({ name: 'grant', arguments: '<email>', description: 'Give a user the admin role' })
export class GrantAdminCommand extends GrantRoleCommand {
  protected readonly words = ADMIN;
}

@SubCommand({ name: 'revoke', arguments: '<email>', description: 'Take the admin role away' })
export class RevokeAdminCommand extends RevokeRoleCommand {
  protected readonly words = ADMIN;
}

@SubCommand({ name: 'list', description: 'List the admins' })
export class ListAdminsCommand extends ListRoleCommand {
  protected readonly words = ADMIN;
}

@Command({
  name: 'admin',
  description: 'Manage who has the admin role',
  subCommands: [GrantAdminCommand, RevokeAdminCommand, ListAdminsCommand],
})
export class AdminCommand extends RoleCommand {
  protected readonly words = ADMIN;
}
