import type { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { eventually } from '../../../test/support/eventually';
import { RedisServer } from '../../../test/support/redis-server';
import { reportConnectionState } from './connection-state';

describe('reportConnectionState', () => {
  it('says once that the connection was lost, however often it retries, and once that it is back', async () => {
    const server = await RedisServer.start();
    const said: string[] = [];
    const logger = {
      warn: (message: string) => said.push(`warn: ${message}`),
      log: (message: string) => said.push(`log: ${message}`),
    } as unknown as Logger;
    let attempts = 0;
    const redis = reportConnectionState(
      new Redis(server.url, {
        retryStrategy: () => {
          attempts += 1;
          return 50;
        },
      }),
      logger,
      'The test connection',
    );
    try {
      await eventually(() => Promise.resolve(redis.status === 'ready'));
      await server.stop();
      await eventually(() => Promise.resolve(attempts >= 5), { what: 'reconnection attempts' });
      await server.start();
      await eventually(() => Promise.resolve(said.length === 2), { what: 'the reconnection' });
      expect(said).toEqual([
        expect.stringMatching(/^warn: The test connection lost Redis: /),
        'log: The test connection reconnected to Redis',
      ]);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
