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
    setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = value),
    removeHeader: (name: string) => delete headers[name.toLowerCase()],
  } as unknown as ServerResponse;
  helmet(OPTIONS)({} as IncomingMessage, collector, () => undefined);
  return headers;
}

/** Pages a browser renders (Swagger UI, the dashboard, the payment pages): helmet's whole set. */
const DOCUMENT_HEADERS = helmetHeaders();

/**
 * Everything else (JSON, problem+json, PDF, scripts): the set OWASP's REST Security cheat
 * sheet names for APIs. The rest of helmet's set only concerns documents, and on an on-sale's
 * sold-out answer it was half of its 1,030 bytes, parsed by every client and proxy.
 */
const API_HEADERS: Record<string, string> = {
  'content-security-policy': `default-src 'none'; frame-ancestors 'none'`,
  'strict-transport-security': DOCUMENT_HEADERS['strict-transport-security'],
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

export function addSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    void reply.headers(
      typeof type === 'string' && type.startsWith('text/html') ? DOCUMENT_HEADERS : API_HEADERS,
    );
    done(null, payload);
  });
}
