import {
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { Role } from '@app/users';

/** Who is calling, as the access token says (no database round trip). */
export interface AuthUser {
  id: string;
  role: Role;
}

export const IS_PUBLIC = 'auth:public';
export const REQUIRED_ROLES = 'auth:roles';

/**
 * `security: []` on an operation: the OpenAPI document requires the bearer token everywhere
 * (as the global guard does), and a public operation says it needs nothing. The undefined
 * summary keeps this from overwriting the route's own @ApiOperation (the two merge).
 */
const noSecurity = ApiOperation({ summary: undefined, security: [] });

/** Open to anyone: no bearer token needed. On a controller, every route of it. */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(IS_PUBLIC, true),
    (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
      if (descriptor) return noSecurity(target, key!, descriptor);
      const prototype = (target as { prototype: Record<string, unknown> }).prototype;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const method = Object.getOwnPropertyDescriptor(prototype, name);
        if (name !== 'constructor' && typeof method?.value === 'function') {
          noSecurity(prototype, name, method);
        }
      }
    },
  );

/** Only for users whose current role (checked in the database) is one of these. */
export const Roles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);

export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthUser =>
    context.switchToHttp().getRequest<{ user: AuthUser }>().user,
);
