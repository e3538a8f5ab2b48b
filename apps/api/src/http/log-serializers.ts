import type { FastifyRequest } from 'fastify';
import { stdSerializers } from 'pino';

/** Query parameters whose value is a credential: a checkout link's `token`, say. */
const SECRET_QUERY_PARAMETER = /([?&][^=&#]*(?:token|secret|password|signature)[^=&#]*=)[^&#]*/gi;

/** The URL as logged: credentials in its query replaced. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMETER, '$1[redacted]');
}

/**
 * What of a failed query's error is logged: where it failed, never with which values. The
 * driver's `detail` ("Key (email)=(…)", "Failing row contains (…)"), the `parameters`
 * (emails, password hashes) and the raw driver error are left out.
 */
const QUERY_ERROR_FIELDS = [
  'code',
  'severity',
  'schema',
  'table',
  'column',
  'constraint',
  'routine',
];

interface QueryError extends Error {
  query?: unknown;
  parameters: unknown[];
  [field: string]: unknown;
}

function isQueryError(error: Error): error is QueryError {
  return Array.isArray((error as Partial<QueryError>).parameters) && 'driverError' in error;
}

/** The message and stack with every string parameter a database message quotes replaced. */
function withoutParameters(text: string, parameters: unknown[]): string {
  const values = parameters
    .filter((value): value is string => typeof value === 'string' && value.length >= 4)
    .sort((a, b) => b.length - a.length);
  let redacted = text;
  for (const value of values) redacted = redacted.split(value).join('[parameter]');
  return redacted;
}

interface SerializedError {
  type: string;
  message: string;
  stack: string;
  [field: string]: unknown;
}

function serializeQueryError(error: QueryError): SerializedError {
  const serialized: SerializedError = {
    type: error.constructor.name,
    message: withoutParameters(error.message, error.parameters),
    stack: withoutParameters(error.stack ?? '', error.parameters),
    // The statement as written, with $1… placeholders: the values are the parameters.
    query: error.query,
  };
  for (const field of QUERY_ERROR_FIELDS) {
    if (error[field] !== undefined) serialized[field] = error[field];
  }
  return serialized;
}

/**
 * pino's error serializer, except for failed queries (TypeORM's QueryFailedError, also as
 * the cause of another error): their values stay out of the log.
 */
export function serializeError(error: Error): SerializedError {
  if (!(error instanceof Error)) return stdSerializers.err(error);
  if (isQueryError(error)) return serializeQueryError(error);
  const serialized: SerializedError = stdSerializers.err(error);
  if (error.cause instanceof Error) serialized.cause = serializeError(error.cause);
  return serialized;
}

/** Fastify's request line, with the URL's credentials redacted. */
export function serializeRequest(request: FastifyRequest): {
  method: string;
  url: string;
  host: string;
  remoteAddress: string;
  remotePort?: number;
} {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

export const logSerializers = { req: serializeRequest, err: serializeError };
