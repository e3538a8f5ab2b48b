import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { ACCESS_TOKEN_ALGORITHMS, callerOf, type AccessTokenClaims } from './access-tokens';
import type { AuthUser } from './auth-user';
import { JwtSecret } from './jwt-secret';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(secret: JwtSecret) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // jsonwebtoken accepts a KeyObject; the typings only list string | Buffer.
      secretOrKey: secret.key as unknown as Buffer,
      algorithms: ACCESS_TOKEN_ALGORITHMS,
    });
  }

  validate(claims: Partial<AccessTokenClaims>): AuthUser | false {
    return callerOf(claims) ?? false;
  }
}
