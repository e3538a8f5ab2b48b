import { type DynamicModule, Module } from '@nestjs/common';
import { AppConfigModule, type Environment } from '@app/config';
import { CliDatabaseModule } from './cli-database.module';
import { ROLE_COMMANDS } from './role-commands';
import { UserRoles } from './user-roles';

/** The admin CLI (admin and staff roles): same configuration and database as the server, no HTTP. */
@Module({})
export class CliModule {
  static forRoot(environment: Environment): DynamicModule {
    return {
      module: CliModule,
      imports: [AppConfigModule.forRoot(environment), CliDatabaseModule],
      providers: [UserRoles, ...ROLE_COMMANDS],
    };
  }
}
