import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { Pool } from 'pg';
import { freshDatabase } from '../../support/fresh-database';
import { CHAOS_JWT_SECRET } from './app-process';

export interface Buyer {
  id: string;
  token: string;
}

export interface ChaosEvent {
  id: string;
  ticketTypes: { id: string; quantity: number }[];
}

const jwt = new JwtService();

/** An access token the app accepts, signed with the chaos apps' secret. */
export function signToken(
  claims: { sub: string; role: string },
  { secret = CHAOS_JWT_SECRET, expiresIn = 3600 }: { secret?: string; expiresIn?: number } = {},
): string {
  return jwt.sign(claims, { secret, algorithm: 'HS256', expiresIn });
}

/** A database of the suite's own (its jobs act on every order in it) and a pool on it. */
export async function chaosDatabase(
  suite: string,
  base = process.env.DATABASE_URL!,
): Promise<{ url: string; db: Pool }> {
  const url = new URL(base);
  url.pathname = `${url.pathname}_${suite}`;
  await freshDatabase(url);
  return { url: url.toString(), db: checkerPool(url.toString()) };
}

/**
 * The suite's own connections, named so that faults aimed at the app's connections spare
 * them; an idle one dropped by a fault is simply replaced.
 */
export function checkerPool(url: string): Pool {
  const pool = new Pool({ connectionString: url, max: 4, application_name: CHECKER_APPLICATION });
  pool.on('error', () => undefined);
  return pool;
}

export const CHECKER_APPLICATION = 'chaos-checker';

/** The argon2 hash of BUYER_PASSWORD (hashing it per buyer would dominate). */
export const BUYER_PASSWORD = 'correct horse battery';
const PASSWORD_HASH =
  '$argon2id$v=19$m=65536,p=4,t=3$KMjcI705tmGSir6ApvBEIA$h0RQ/3qZfWsnqlCON3Xky5hyGNd3lAMZS4A6BZ8NJZw';

/**
 * Buyers inserted in one statement with signed tokens (the storm needs thousands: a buyer
 * holds at most one pending order per event, so every booking comes from another buyer).
 */
export async function createBuyers(db: Pool, count: number, role = 'customer'): Promise<Buyer[]> {
  const batch = randomUUID().slice(0, 8);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO users (email, name, password_hash, role)
     SELECT 'chaos' || n || '-' || $2 || '@example.com', 'Buyer ' || n, $1, $4
     FROM generate_series(1, $3::int) AS n RETURNING id`,
    [PASSWORD_HASH, batch, count, role],
  );
  return rows.map((row) => ({ id: row.id, token: signToken({ sub: row.id, role }) }));
}

/** An event on sale in a month, created through the API by an admin. */
export async function createEvent(
  baseUrl: string,
  admin: Buyer,
  quantities: number[],
  overrides: Record<string, unknown> = {},
): Promise<ChaosEvent> {
  // Once more if the kept-alive socket was closed under the request (nothing was sent then).
  const post = (init: RequestInit) =>
    fetch(`${baseUrl}/api/v1/events`, init).catch(() => fetch(`${baseUrl}/api/v1/events`, init));
  const answer = await post({
    method: 'POST',
    headers: { Authorization: `Bearer ${admin.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name: `Chaos ${randomUUID().slice(0, 6)}`,
      venue: 'Arena',
      startsAt: new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString(),
      maxTicketsPerOrder: 4,
      ticketTypes: quantities.map((quantity, i) => ({ name: `Type ${i}`, price: 2500, quantity })),
      ...overrides,
    }),
  });
  const body = (await answer.json()) as ChaosEvent;
  if (answer.status !== 201)
    throw new Error(`createEvent: ${answer.status} ${JSON.stringify(body)}`);
  return body;
}
