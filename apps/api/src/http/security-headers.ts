import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

const OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: [`'self'`],
      // Swagger UI and the payment simulator page use inline styles and scripts.
      styleSrc: [`'self'`, `'unsafe-inline'`],
      scriptSrc: [`'self'`, `'unsafe-inline'`],
      imgSrc: [`'self'`, 'data:'],
      formAction: [`'self'`],
    },
  },
};

/**
 * Helmet's headers, computed once. They are the same for every response (no CSP nonces),
 * while running helmet per request (as @fastify/helmet does, rebuilding it each time)
 * cost more than the whole booking route.
 */
function helmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const collector = {
    setHeader: (name: string, value: string) => (headers[name] = value),
    removeHeader: (name: string) => delete headers[name],
  } as unknown as ServerResponse;
  helmet(OPTIONS)({} as IncomingMessage, collector, () => undefined);
  return headers;
}

export function addSecurityHeaders(fastify: FastifyInstance): void {
  const headers = helmetHeaders();
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
}
