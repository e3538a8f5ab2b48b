import { connect, type Socket } from 'node:net';

/** Who calls a route in the authorization matrix. */
export type Caller = 'anonymous' | 'customer' | 'another' | 'staff' | 'admin';
export const CALLERS: Caller[] = ['anonymous', 'customer', 'another', 'staff', 'admin'];

/**
 * What a caller gets: `ok` passes the guards (anything but 401/403/5xx), `found` also sees
 * the resource (not 404), or the exact refusal.
 */
export type Access = 'ok' | 'found' | 401 | 403 | 404;

const PUBLIC: Record<Caller, Access> = {
  anonymous: 'ok',
  customer: 'ok',
  another: 'ok',
  staff: 'ok',
  admin: 'ok',
};
const SIGNED_IN: Record<Caller, Access> = { ...PUBLIC, anonymous: 401 };
/** Another user's order answers 404, as a missing one does, so order ids cannot be probed. */
const OWNER_OR_ADMIN: Record<Caller, Access> = {
  anonymous: 401,
  customer: 'found',
  another: 404,
  staff: 404,
  admin: 'found',
};
const ADMIN_ONLY: Record<Caller, Access> = {
  anonymous: 401,
  customer: 403,
  another: 403,
  staff: 403,
  admin: 'ok',
};
const STAFF_OR_ADMIN: Record<Caller, Access> = { ...ADMIN_ONLY, staff: 'ok' };

/**
 * Who may call each route, keyed as the OpenAPI document names it. The matrix walks the
 * running app's document: a route missing here fails the test until its expectation is added.
 */
export const EXPECTED_ACCESS: Record<string, Record<Caller, Access>> = {
  'POST /api/v1/auth/register': PUBLIC,
  'POST /api/v1/auth/login': PUBLIC,
  'GET /api/v1/auth/me': SIGNED_IN,
  'POST /api/v1/events': ADMIN_ONLY,
  'GET /api/v1/events': PUBLIC,
  'GET /api/v1/events/{id}': PUBLIC,
  'PATCH /api/v1/events/{id}': ADMIN_ONLY,
  'POST /api/v1/events/{id}/ticket-types': ADMIN_ONLY,
  'PATCH /api/v1/events/{id}/ticket-types/{typeId}': ADMIN_ONLY,
  'GET /api/v1/events/{id}/tickets': PUBLIC,
  'POST /api/v1/events/{id}/bookings': SIGNED_IN,
  'GET /api/v1/orders': SIGNED_IN,
  'GET /api/v1/orders/{id}': OWNER_OR_ADMIN,
  'POST /api/v1/orders/{id}/cancel': OWNER_OR_ADMIN,
  'GET /api/v1/orders/{id}/tickets': OWNER_OR_ADMIN,
  'GET /api/v1/orders/{id}/tickets.pdf': OWNER_OR_ADMIN,
  'POST /api/v1/events/{id}/check-ins': STAFF_OR_ADMIN,
  'GET /api/v1/events/{id}/check-ins': STAFF_OR_ADMIN,
  'GET /api/v1/check-in/keys': PUBLIC,
  'GET /api/v1/events/{id}/check-in/revoked': STAFF_OR_ADMIN,
  'POST /api/v1/events/{id}/waitlist': SIGNED_IN,
  'GET /api/v1/waitlist': SIGNED_IN,
  // Owner only; the matrix has no entry of the customer's, so it checks the sign-in here and
  // test/waitlist/waitlist.e2e-spec.ts checks the owner.
  'DELETE /api/v1/waitlist/{id}': SIGNED_IN,
  'GET /api/v1/admin/stats': ADMIN_ONLY,
  // The page is public; the figures it shows come from /admin/stats, which needs an admin.
  'GET /admin': PUBLIC,
  // The signed link and the webhook carry their own proof (token, signature).
  'GET /api/v1/payments/checkout/{orderId}': PUBLIC,
  'GET /api/v1/payments/return/{outcome}': PUBLIC,
  'POST /api/v1/payments/webhook': PUBLIC,
  'GET /api/v1/payments/simulator/{sessionId}': PUBLIC,
  'POST /api/v1/payments/simulator/{sessionId}/pay': PUBLIC,
  'POST /api/v1/payments/simulator/{sessionId}/decline': PUBLIC,
  'GET /health/live': PUBLIC,
  'GET /health/ready': PUBLIC,
  'GET /metrics': PUBLIC,
};

/** Whether an answer meets the expectation; the reason when it does not. */
export function accessProblem(expected: Access, status: number): string | null {
  if (status >= 500) return `answered ${status}`;
  if (expected === 'ok' || expected === 'found') {
    if (status === 401 || status === 403) return `refused with ${status}`;
    if (expected === 'found' && status === 404) return 'answered 404 to a caller who may see it';
    return null;
  }
  return status === expected ? null : `answered ${status}, expected ${expected}`;
}

/** `count` TCP connections that connect and then send nothing. */
export async function openIdleSockets(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(
      Array.from(
        { length: Math.min(batch, count - i) },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const socket = connect(port, '127.0.0.1', () => resolve(socket));
            socket.once('error', reject);
          }),
      ),
    );
    for (const socket of opened) {
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
  }
  return sockets;
}

/** A slowloris client: a request whose headers trickle in, one byte every `everyMs`. */
export function slowloris(
  port: number,
  everyMs = 500,
): { socket: Socket; closedAt: () => number | null } {
  let closed: number | null = null;
  const header = `POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(10_000)}`;
  let sent = 0;
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const timer = setInterval(() => {
    if (socket.destroyed || sent >= header.length) return;
    socket.write(header[sent++]);
  }, everyMs);
  socket.once('close', () => {
    closed = Date.now();
    clearInterval(timer);
  });
  return { socket, closedAt: () => closed };
}
