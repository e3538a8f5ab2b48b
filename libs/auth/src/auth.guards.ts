import {
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  type CanActivate,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC } from '@app/http';
import { UsersService, type Role } from '@app/users';
import { REQUIRED_ROLES, type AuthUser } from './auth-user';

/** Global: every route needs a valid bearer token unless marked @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    return isPublic ? true : super.canActivate(context);
  }
}

/**
 * Global: enforces @Roles(). The role is read from the database rather than trusted from
 * the token, so a revoked admin loses access at once, not when the token expires.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly users: UsersService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles?.length) return true;
    const caller = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    const user = caller && (await this.users.findById(caller.id));
    if (!user || !roles.includes(user.role)) {
      throw new ForbiddenException(`This needs the ${roles.join(' or ')} role.`);
    }
    return true;
  }
}
