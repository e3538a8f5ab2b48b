import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Role } from '@app/users';

/** Who is calling, as the access token says (no database round trip). */
export interface AuthUser {
  id: string;
  role: Role;
}

export const REQUIRED_ROLES = 'auth:roles';

/** Only for users whose current role (checked in the database) is one of these. */
export const Roles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);

export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthUser =>
    context.switchToHttp().getRequest<{ user: AuthUser }>().user,
);
