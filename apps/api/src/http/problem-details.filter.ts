import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type DomainErrorKind } from '@app/common';
import { isDatabaseUnavailable } from '@app/database';
import { type FieldError, RequestValidationException } from './request-validation';

const STATUS_OF_KIND: Record<DomainErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  upstream_failed: 502,
};

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** Lost connection or time-out on the Redis client: the caller may retry shortly. */
function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|Command timed out/.test(error.message)
  );
}

/**
 * For the few errors Fastify answers by itself before any route runs (a malformed URL
 * escape, say), which never reach the exception filter: the same problem+json shape.
 */
export function sendFrameworkProblem(error: FastifyError, reply: FastifyReply): void {
  const status = error.statusCode ?? 400;
  const problem: Problem = {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: status >= 500 ? 'The server could not complete the request.' : error.message,
  };
  void reply
    .status(status)
    .header('Content-Type', 'application/problem+json; charset=utf-8')
    .send(JSON.stringify(problem));
}

/**
 * For what Node refuses before Fastify has a request (headers over 16 kB, a request that is
 * not HTTP, a client too slow): Fastify's own answer, as problem+json.
 */
export function sendClientErrorProblem(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection has no one left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'The request headers (or its URL) are over 16 kB.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request took too long to arrive.']
        : [400, 'The request is not valid HTTP.'];
  const body = JSON.stringify({
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
  } satisfies Problem);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
        `Content-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * The one place that turns failures into RFC 9457 problem+json answers. Nothing internal
 * (stack, SQL, driver messages) reaches the client; unexpected errors are logged with the
 * request id instead.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  /** `onDomainError` sees every expected failure answered (the metrics count sold-out answers). */
  constructor(private readonly onDomainError: (error: DomainError) => void = () => undefined) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    this.answer(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }

  /** Also for routes served outside Nest's pipeline (BookingFastPath). */
  answer(exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
    if (exception instanceof DomainError) this.onDomainError(exception);
    const { problem, retryAfterSeconds } = this.toProblem(exception);
    if (problem.status >= 500 && !(exception instanceof DomainError)) {
      // request.log carries the request id.
      request.log.error({ err: exception }, 'Request failed');
    }
    if (retryAfterSeconds !== undefined) reply.header('Retry-After', String(retryAfterSeconds));
    void reply
      .status(problem.status)
      .header('Content-Type', 'application/problem+json; charset=utf-8')
      .send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown): { problem: Problem; retryAfterSeconds?: number } {
    if (exception instanceof DomainError) {
      const status = STATUS_OF_KIND[exception.kind];
      return {
        problem: {
          type: `urn:tickets:problem:${exception.code}`,
          title: STATUS_CODES[status] ?? 'Error',
          status,
          detail: exception.message,
          ...(exception.fieldErrors ? { errors: exception.fieldErrors } : {}),
          ...exception.extensions,
        },
        retryAfterSeconds: exception.retryAfterSeconds,
      };
    }
    if (exception instanceof RequestValidationException) {
      return {
        problem: {
          ...this.plain(400, 'The request has invalid fields.'),
          type: 'urn:tickets:problem:request.invalid',
          errors: exception.fieldErrors,
        },
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'string' ? response : (response as { message?: unknown }).message;
      const detail =
        status >= 500
          ? 'The server could not complete the request.'
          : typeof message === 'string'
            ? message
            : exception.message;
      return {
        problem: this.plain(status, status === 429 ? 'Too many requests; slow down.' : detail),
      };
    }
    if (isRedisUnavailable(exception) || isDatabaseUnavailable(exception)) {
      return {
        problem: this.plain(503, 'A backing service is unavailable; try again shortly.'),
        retryAfterSeconds: 2,
      };
    }
    return { problem: this.plain(500, 'The server could not complete the request.') };
  }

  private plain(status: number, detail: string): Problem {
    return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail };
  }
}
