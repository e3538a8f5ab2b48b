import type Redis from 'ioredis';

/** Where login attempts per email address are counted, over a fixed window from the first. */
export interface LoginAttempts {
  /** Counts one more attempt, atomically; answers the count so far and the window's time left. */
  attempt(email: string): Promise<{ count: number; msLeft: number }>;
  /** Takes back the attempt of a login that turned out to be correct. */
  giveBack(email: string): Promise<void>;
}

// One step each, so parallel attempts cannot read the same count, and a give-back after the
// window ended cannot leave a key without expiry behind.
const ATTEMPT = `
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return {count, redis.call('PTTL', KEYS[1])}`;
const GIVE_BACK = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 0`;

/** Shared by every instance. */
export class RedisLoginAttempts implements LoginAttempts {
  constructor(
    private readonly redis: Redis,
    private readonly windowMs: number,
  ) {}

  async attempt(email: string): Promise<{ count: number; msLeft: number }> {
    const [count, msLeft] = (await this.redis.eval(ATTEMPT, 1, this.key(email), this.windowMs)) as [
      number,
      number,
    ];
    return { count, msLeft };
  }

  async giveBack(email: string): Promise<void> {
    await this.redis.eval(GIVE_BACK, 1, this.key(email));
  }

  private key(email: string): string {
    return `auth:failed-logins:${email}`;
  }
}

/**
 * One instance only (no Redis). Windows all last as long and the clock only moves on, so
 * the map's insertion order is expiry order: expired entries are dropped from its front.
 */
export class InProcessLoginAttempts implements LoginAttempts {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Addresses currently remembered. */
  get size(): number {
    return this.windows.size;
  }

  attempt(email: string): Promise<{ count: number; msLeft: number }> {
    const now = this.now();
    this.evictExpired(now);
    let window = this.windows.get(email);
    if (!window) {
      window = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(email, window);
    }
    window.count += 1;
    return Promise.resolve({ count: window.count, msLeft: window.resetAt - now });
  }

  giveBack(email: string): Promise<void> {
    this.evictExpired(this.now());
    const window = this.windows.get(email);
    if (window) window.count -= 1;
    return Promise.resolve();
  }

  private evictExpired(now: number): void {
    for (const [email, window] of this.windows) {
      if (window.resetAt > now) return;
      this.windows.delete(email);
    }
  }
}
