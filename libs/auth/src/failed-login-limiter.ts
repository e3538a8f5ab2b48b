import { Injectable, Optional } from '@nestjs/common';
import { InjectRedis } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import { TooManyLoginFailuresError } from './auth.errors';
import { InProcessLoginAttempts, RedisLoginAttempts, type LoginAttempts } from './login-attempts';

const MAX_FAILURES = 10;
const WINDOW_MS = 15 * 60 * 1000;

/**
 * Limits failed logins per email address, whatever the client IP, so a password cannot be
 * guessed from many addresses. Every attempt is counted before its password is checked (so
 * parallel attempts cannot all pass a check made before any of them was counted), and given
 * back when the password was right. Shared through Redis when there is one; in-process
 * otherwise.
 */
@Injectable()
export class FailedLoginLimiter {
  private readonly attempts: LoginAttempts;

  constructor(@Optional() @InjectRedis() redis?: Redis) {
    this.attempts = redis
      ? new RedisLoginAttempts(redis, WINDOW_MS)
      : new InProcessLoginAttempts(WINDOW_MS);
  }

  /** Counts this attempt as a failure until `succeeded`; refuses it beyond the limit. */
  async attempt(email: string): Promise<void> {
    const { count, msLeft } = await this.attempts.attempt(email);
    if (count > MAX_FAILURES) {
      throw new TooManyLoginFailuresError(Math.max(1, Math.ceil(msLeft / 1000)));
    }
  }

  async succeeded(email: string): Promise<void> {
    await this.attempts.giveBack(email);
  }
}
