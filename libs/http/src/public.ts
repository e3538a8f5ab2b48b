import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';

/** Route metadata: the route needs no bearer token (read by the auth module's global guard). */
export const IS_PUBLIC = 'http:public';

/**
 * `security: []` on an operation: the OpenAPI document requires the bearer token everywhere
 * (as the global guard does), and a public operation says it needs nothing. The undefined
 * summary keeps this from overwriting the route's own @ApiOperation (the two merge).
 */
const noSecurity = ApiOperation({ summary: undefined, security: [] });

/**
 * Open to anyone: no bearer token needed. On a controller, every route of it. Part of the
 * HTTP edge rather than of auth, so infrastructure routes (metrics, health) can be open
 * without importing a domain module.
 */
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
