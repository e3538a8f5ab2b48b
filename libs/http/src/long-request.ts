import type { FastifyRequest } from 'fastify';

/**
 * How long an admin request that issues or retires up to a million tickets may take: one
 * such statement runs for seconds, longer than the 15 s idle-socket timeout and statement
 * timeout that guard every other request.
 */
export const LONG_REQUEST_MS = 120_000;

/** Keeps this request's socket open for LONG_REQUEST_MS of silence while it works. */
export function allowLongRequest(request: FastifyRequest): void {
  request.raw.setTimeout(LONG_REQUEST_MS);
}
