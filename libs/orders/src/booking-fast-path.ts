import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { AccessTokens } from '@app/auth';
import { BOOKING_ROUTE, OrdersController } from './orders.controller';
import { MAX_TICKETS_PER_BOOKING } from './orders.dto';

/** Answers an error the way the exception filter does (problem+json). */
export type ErrorAnswer = (error: unknown, request: FastifyRequest, reply: FastifyReply) => void;

/** The 8-4-4-4-12 form of versions 1–8: stricter than the route's own checks, never looser. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

interface QuantityBooking {
  ticketTypeId: string;
  quantity: number;
}

/** `{ticketTypeId, quantity}` and nothing else, as BookingDto would accept it. */
function isQuantityBooking(body: unknown): body is QuantityBooking {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const { ticketTypeId, quantity } = body as Partial<QuantityBooking>;
  return (
    Object.keys(body).length === 2 &&
    typeof ticketTypeId === 'string' &&
    UUID.test(ticketTypeId) &&
    Number.isInteger(quantity) &&
    quantity! >= 1 &&
    quantity! <= MAX_TICKETS_PER_BOOKING
  );
}

/**
 * An on-sale sends this route more requests than all the others together, and most of them
 * are answered 409 in microseconds once the tickets are gone; then Nest's per-request
 * machinery (passport, class-validator and class-transformer, the guard and pipe chain, the
 * exception zone) costs more than the answer. So the common request — a valid
 * `Bearer` token, a well-formed event id and `{ticketTypeId, quantity}` — calls the
 * controller's `book` straight from Fastify's handler, and its errors are answered by the
 * exception filter's own code. Anything else (no or bad token, invalid input, explicit
 * ticket ids) takes the Nest route, which answers it exactly as before: the fast path only
 * takes requests every check of the Nest route would pass.
 */
@Injectable()
export class BookingFastPath {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Wraps the booking route's handler as Nest registers it (call before `app.init()`). */
  attach(fastify: FastifyInstance, answerError: ErrorAnswer): void {
    const tokens = this.tokens;
    const controller = this.moduleRef.get(OrdersController);
    fastify.addHook('onRoute', (route) => {
      if ((route.config as Partial<typeof BOOKING_ROUTE>)?.fastPath !== BOOKING_ROUTE.fastPath)
        return;
      const nestHandler = route.handler;
      route.handler = function (this: FastifyInstance, request, reply) {
        // The cheap shape checks first: a request the Nest route takes is not verified twice.
        const { id } = request.params as { id: string };
        const { body } = request;
        if (!UUID.test(id) || !isQuantityBooking(body))
          return nestHandler.call(this, request, reply);
        const caller = tokens.callerOfHeader(request.headers.authorization);
        if (!caller) return nestHandler.call(this, request, reply);
        const idempotencyKey = request.headers['idempotency-key'] as string | undefined;
        return controller.book(id, body, caller, idempotencyKey).then(
          (answer) => reply.code(201).send(answer),
          (error: unknown) => answerError(error, request, reply),
        );
      } satisfies RouteHandlerMethod;
    });
  }
}
