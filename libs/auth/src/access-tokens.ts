import { Injectable } from '@nestjs/common';
import { type Algorithm, verify } from 'jsonwebtoken';
import { ROLES, type Role } from '@app/users';
import type { AuthUser } from './auth-user';
import { JwtSecret } from './jwt-secret';

export interface AccessTokenClaims {
  sub: string;
  role: Role;
  /** Issued at (seconds), set by the signer. */
  iat?: number;
}

/** Pinning the algorithm rejects `alg: none` and key-confusion tokens. */
export const ACCESS_TOKEN_ALGORITHMS: Algorithm[] = ['HS256'];

/** Clocks of several instances may differ a little; a token from further ahead is forged. */
const MAX_CLOCK_SKEW_SECONDS = 60;

/** The caller verified claims name, or null when they name nobody we would let in. */
export function callerOf(claims: Partial<AccessTokenClaims>): AuthUser | null {
  if (typeof claims.sub !== 'string' || !ROLES.includes(claims.role as Role)) return null;
  // jsonwebtoken checks exp and nbf only: a token "issued" in the future would outlive
  // every expiry policy, so it is refused.
  if (typeof claims.iat === 'number' && claims.iat > Date.now() / 1000 + MAX_CLOCK_SKEW_SECONDS) {
    return null;
  }
  return { id: claims.sub, role: claims.role as Role };
}

/**
 * Access tokens checked without passport, for the booking fast path: the same key,
 * algorithm and claim checks as JwtStrategy.
 */
@Injectable()
export class AccessTokens {
  constructor(private readonly secret: JwtSecret) {}

  /** The caller of an `Authorization: Bearer <token>` header; null for anything else. */
  callerOfHeader(authorization: string | undefined): AuthUser | null {
    if (!authorization?.startsWith('Bearer ')) return null;
    try {
      const claims = verify(authorization.slice(7), this.secret.key, {
        algorithms: ACCESS_TOKEN_ALGORITHMS,
      });
      return typeof claims === 'object' ? callerOf(claims) : null;
    } catch {
      return null;
    }
  }
}
