import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { ROLES, type Role } from '@app/users';
import type { AuthUser } from './auth-user';
import { JwtSecret } from './jwt-secret';

export interface AccessTokenClaims {
  sub: string;
  role: Role;
}

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(secret: JwtSecret) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // jsonwebtoken accepts a KeyObject; the typings only list string | Buffer.
      secretOrKey: secret.key as unknown as Buffer,
      // Pinning the algorithm rejects `alg: none` and key-confusion tokens.
      algorithms: ['HS256'],
    });
  }

  validate(claims: Partial<AccessTokenClaims>): AuthUser | false {
    if (typeof claims.sub !== 'string' || !ROLES.includes(claims.role as Role)) return false;
    return { id: claims.sub, role: claims.role as Role };
  }
}
