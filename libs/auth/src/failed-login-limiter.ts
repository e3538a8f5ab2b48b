import { Injectable, Optional } from '@nestjs/common';
import { InjectRedis } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import { TooManyLoginFailuresError } from './auth.errors';

const MAX_FAILURES = 10;
const WINDOW_MS = 15 * 60 * 1000;

/**
 * Counts failed logins per email address, whatever the client IP, so a password cannot be
 * guessed from many addresses. Shared through Redis when there is one; in-process otherwise.
 */
@Injectable()
export class FailedLoginLimiter {
  private readonly local = new Map<string, { failures: number; resetAt: number }>();

  constructor(@Optional() @InjectRedis() private readonly redis?: Redis) {}

  async assertAllowed(email: string): Promise<void> {
    const { failures, msLeft } = await this.read(email);
    if (failures >= MAX_FAILURES) throw new TooManyLoginFailuresError(Math.ceil(msLeft / 1000));
  }

  async recordFailure(email: string): Promise<void> {
    if (this.redis) {
      const key = this.key(email);
      await this.redis.multi().incr(key).pexpire(key, WINDOW_MS, 'NX').exec();
      return;
    }
    const now = Date.now();
    const entry = this.local.get(email);
    if (!entry || entry.resetAt <= now)
      this.local.set(email, { failures: 1, resetAt: now + WINDOW_MS });
    else entry.failures += 1;
  }

  private async read(email: string): Promise<{ failures: number; msLeft: number }> {
    if (this.redis) {
      const key = this.key(email);
      const [[, count], [, ttl]] = (await this.redis.multi().get(key).pttl(key).exec()) as [
        [Error | null, string | null],
        [Error | null, number],
      ];
      return { failures: Number(count ?? 0), msLeft: Math.max(ttl, 1000) };
    }
    const entry = this.local.get(email);
    if (!entry || entry.resetAt <= Date.now()) return { failures: 0, msLeft: 0 };
    return { failures: entry.failures, msLeft: entry.resetAt - Date.now() };
  }

  private key(email: string): string {
    return `auth:failed-logins:${email}`;
  }
}
