import { type INestApplicationContext, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type Redis from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';
import { reportConnectionState } from '@app/redis';

/**
 * socket.io on the app's own HTTP server (Fastify's underlying Node server). With Redis, the
 * Redis adapter relays every room emission to the other instances, so a client connected to
 * any instance sees what any instance sends. Cross-origin browser clients are allowed from
 * CORS_ORIGINS, as for the REST API.
 */
export class SocketIoAdapter extends IoAdapter {
  private readonly clients: Redis[] = [];
  private readonly logger = new Logger('SocketIo');

  constructor(
    app: INestApplicationContext,
    private readonly origins: string[],
    private readonly redis?: Redis,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, {
      ...options,
      cors: this.origins.length > 0 ? { origin: this.origins } : undefined,
    }) as Server;
    if (this.redis) {
      // Fan-out is not on the booking path: these connections wait for Redis to come back
      // (queueing) instead of failing their commands.
      const options = {
        enableOfflineQueue: true,
        enableAutoPipelining: false,
        maxRetriesPerRequest: null,
        commandTimeout: undefined,
      };
      const publisher = reportConnectionState(
        this.redis.duplicate(options),
        this.logger,
        'The socket.io publisher',
      );
      const subscriber = reportConnectionState(
        this.redis.duplicate(options),
        this.logger,
        'The socket.io subscriber',
      );
      this.clients.push(publisher, subscriber);
      server.adapter(createAdapter(publisher, subscriber, { key: 'socket.io' }));
    }
    return server;
  }

  // Not QUIT: it would wait forever on a Redis that is down.
  override dispose(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    return Promise.resolve();
  }
}
