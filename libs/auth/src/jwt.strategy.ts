import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { ROLES, type Role } from '@app/users';
import type { AuthUser } from './auth-user';
import { JwtSecret } from './jwt-secret';

export interface AccessTokenClaims {
  sub: string;
  role: Role;
  /** Issued at (seconds), set by the signer. */
  iat?: number;
}

/** Clocks of several instances may differ a little; a token from further ahead is forged. */
const MAX_CLOCK_SKEW_SECONDS = 60;

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
    // jsonwebtoken checks exp and nbf only: a token "issued" in the future would outlive
    // every expiry policy, so it is refused.
    if (typeof claims.iat === 'number' && claims.iat > Date.now() / 1000 + MAX_CLOCK_SKEW_SECONDS) {
      return false;
    }
    return { id: claims.sub, role: claims.role as Role };
  }
}
