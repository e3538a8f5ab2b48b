import { Logger, UsePipes, ValidationPipe } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  WsException,
} from '@nestjs/websockets';
import type { ValidationError } from 'class-validator';
import type { Namespace, Socket } from 'socket.io';
import { JwtSecret } from '@app/auth';
import { Metrics } from '@app/metrics';
import { EventAvailability, type EventAvailabilitySnapshot } from '@app/tickets';
import { AvailabilitySubscription } from './availability.dto';

/** One room per event; a socket may watch this many events at once (the dashboard watches all). */
const MAX_SUBSCRIPTIONS = 1000;

export function eventRoom(eventId: string): string {
  return `event:${eventId}`;
}

function userRoom(userId: string): string {
  return `user:${userId}`;
}

function invalid(errors: ValidationError[]): WsException {
  return new WsException({
    status: 'error',
    message: 'The message has invalid fields.',
    errors: errors.flatMap((error) =>
      Object.values(error.constraints ?? {}).map((message) => ({ field: error.property, message })),
    ),
  });
}

/**
 * Namespace /availability: `subscribe` / `unsubscribe` with `{ eventId }`. A subscription is
 * answered at once with the event's counts (`availability`), then after every change (see
 * AvailabilityBroadcastConsumer). Bad input is answered with an `exception` event, never a crash.
 * The counts are public; a socket that presents an access token (`auth: { token }`) also
 * gets messages addressed to its user (`waitlist_offer`).
 */
@WebSocketGateway({ namespace: '/availability' })
@UsePipes(
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    exceptionFactory: invalid,
  }),
)
export class AvailabilityGateway implements OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(AvailabilityGateway.name);

  @WebSocketServer()
  private readonly namespace!: Namespace;

  constructor(
    private readonly availability: EventAvailability,
    private readonly metrics: Metrics,
    private readonly jwt: JwtService,
    private readonly secret: JwtSecret,
  ) {}

  async handleConnection(socket: Socket): Promise<void> {
    this.metrics.socketClients.inc();
    const token: unknown = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string') return;
    try {
      const claims = await this.jwt.verifyAsync<{ sub?: unknown }>(token, {
        secret: this.secret.key as unknown as string,
        algorithms: ['HS256'],
      });
      if (typeof claims.sub === 'string') await socket.join(userRoom(claims.sub));
    } catch {
      socket.emit('exception', { status: 'error', message: 'The access token is not valid.' });
    }
  }

  handleDisconnect(): void {
    this.metrics.socketClients.dec();
  }

  @SubscribeMessage('subscribe')
  async subscribe(
    @ConnectedSocket() socket: Socket,
    @MessageBody() { eventId }: AvailabilitySubscription,
  ): Promise<void> {
    if (socket.rooms.size > MAX_SUBSCRIPTIONS)
      throw new WsException({
        status: 'error',
        message: `At most ${MAX_SUBSCRIPTIONS} events at once.`,
      });
    const snapshot = await this.availability.of(eventId);
    if (!snapshot) throw new WsException({ status: 'error', message: `No event ${eventId}.` });
    await socket.join(eventRoom(eventId));
    socket.emit('availability', snapshot);
  }

  @SubscribeMessage('unsubscribe')
  async unsubscribe(
    @ConnectedSocket() socket: Socket,
    @MessageBody() { eventId }: AvailabilitySubscription,
  ): Promise<void> {
    await socket.leave(eventRoom(eventId));
  }

  /** Whether a socket of this instance watches the event. */
  isWatched(eventId: string): boolean {
    return (this.namespace.adapter.rooms.get(eventRoom(eventId))?.size ?? 0) > 0;
  }

  /** To this instance's subscribers of the event (each instance serves its own). */
  broadcastLocally(snapshot: EventAvailabilitySnapshot): void {
    this.namespace.local.to(eventRoom(snapshot.eventId)).emit('availability', snapshot);
  }

  /** To every socket of this user, on every instance (e.g. `waitlist_offer`). */
  notifyUser(userId: string, event: string, payload: object): void {
    this.logger.debug(`${event} to user ${userId}`);
    this.namespace.to(userRoom(userId)).emit(event, payload);
  }
}
