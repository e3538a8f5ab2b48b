import { Command, SubCommand } from 'nest-commander';
import {
  GrantRoleCommand,
  ListRoleCommand,
  RevokeRoleCommand,
  RoleCommand,
  type RoleWords,
} from './role-commands';

const STAFF: RoleWords = { role: 'staff', holder: 'door staff', plural: 'staff member(s)' };

@SubCommand({
  name: 'grant',
  arguments: '<email>',
  description: 'Give a user the staff role (check tickets in at the door)',
})
export class GrantStaffCommand extends GrantRoleCommand {
  protected readonly words = STAFF;
}

@SubCommand({ name: 'revoke', arguments: '<email>', description: 'Take the staff role away' })
export class RevokeStaffCommand extends RevokeRoleCommand {
  protected readonly words = STAFF;
}

@SubCommand({ name: 'list', description: 'List the door staff' })
export class ListStaffCommand extends ListRoleCommand {
  protected readonly words = STAFF;
}

@Command({
  name: 'staff',
  description: 'Manage who checks tickets in at the door (the staff role)',
  subCommands: [GrantStaffCommand, RevokeStaffCommand, ListStaffCommand],
})
export class StaffCommand extends RoleCommand {
  protected readonly words = STAFF;
}
