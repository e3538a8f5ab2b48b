import { Injectable } from '@nestjs/common';
import { type Algorithm, verify } from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { ROLES, type Role } from '@app/users';
import type { AuthUser } from './auth-user';
import { JwtSecret } from './jwt-secret';

export interface AccessTokenClaims {
  sub: string;
  role: Role;
  /** Issued at (seconds), set by the signer. */
  iat?: number;
  /** Expiry (seconds), set by the signer. */
  exp?: number;
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
 * A crowd of 50,000 buyers retrying at once (an LRU smaller than the crowd that cycles
 * through it would never hit); about 0.9 KB each, so at most ~45 MB. A buyer whose token
 * fell out is verified again, nothing more.
 */
const VERIFIED_TOKENS_KEPT = 50_000;

interface VerifiedToken {
  caller: AuthUser;
  expiresAtMs: number;
}

/**
 * Access tokens checked without passport, for the booking fast path: the same key,
 * algorithm and claim checks as JwtStrategy.
 *
 * In a sold-out on-sale the same buyers retry many times a second, and verifying the token
 * (HMAC, base64 and JSON parsing) cost more than the rest of a sold-out answer. A token
 * that passed is a fixed string with fixed claims, so its caller is remembered until the
 * token expires; anything that failed is verified again every time.
 */
@Injectable()
export class AccessTokens {
  private readonly verified = new LRUCache<string, VerifiedToken>({ max: VERIFIED_TOKENS_KEPT });

  constructor(private readonly secret: JwtSecret) {}

  /** The caller of an `Authorization: Bearer <token>` header; null for anything else. */
  callerOfHeader(authorization: string | undefined): AuthUser | null {
    if (!authorization?.startsWith('Bearer ')) return null;
    const token = authorization.slice(7);
    const known = this.verified.get(token);
    if (known && known.expiresAtMs > Date.now()) return known.caller;
    const claims = this.verify(token);
    const caller = claims && callerOf(claims);
    // Tokens without an expiry are not remembered; the server never issues them.
    if (caller && typeof claims.exp === 'number')
      this.verified.set(token, { caller: Object.freeze(caller), expiresAtMs: claims.exp * 1000 });
    return caller;
  }

  private verify(token: string): Partial<AccessTokenClaims> | null {
    try {
      const claims = verify(token, this.secret.key, { algorithms: ACCESS_TOKEN_ALGORITHMS });
      return typeof claims === 'object' ? claims : null;
    } catch {
      return null;
    }
  }
}
