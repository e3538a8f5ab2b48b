import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `check` until it returns a truthy value (which is returned), or fails after
 * `timeoutMs`. For outcomes that happen in the background (expiry, reconnects): the test
 * waits exactly as long as needed, never for a fixed time.
 */
export async function eventually<T>(
  check: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  {
    timeoutMs = 5_000,
    intervalMs = 50,
    what = 'a condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: Error | undefined;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(JSON.stringify(error));
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}` +
          (lastError ? `: ${lastError.message}` : ''),
      );
    }
    await delay(intervalMs);
  }
}
