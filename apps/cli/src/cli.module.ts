import { type DynamicModule, Module } from '@nestjs/common';
import { AppConfigModule, type Environment } from '@app/config';
import { DatabaseModule } from '@app/database';
import { UsersModule } from '@app/users';
import {
  AdminCommand,
  GrantAdminCommand,
  ListAdminsCommand,
  RevokeAdminCommand,
} from './admin.command';
import {
  GrantStaffCommand,
  ListStaffCommand,
  RevokeStaffCommand,
  StaffCommand,
} from './staff.command';

/** The admin CLI (admin and staff roles): same configuration and database as the server, no HTTP. */
@Module({})
export class CliModule {
  static forRoot(environment: Environment): DynamicModule {
    return {
      module: CliModule,
      imports: [AppConfigModule.forRoot(environment), DatabaseModule, UsersModule],
      providers: [
        AdminCommand,
        GrantAdminCommand,
        RevokeAdminCommand,
        ListAdminsCommand,
        StaffCommand,
        GrantStaffCommand,
        RevokeStaffCommand,
        ListStaffCommand,
      ],
    };
  }
}
