import { resolve } from 'node:path';
import type { Environment } from '@app/config';

export interface StartupBanner {
  api: string;
  docs: string;
  database: string;
  locks: string;
  payments: string;
  firstAdmin: string;
}

/** Where a URL points, without its credentials. */
function where(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

/** What a person needs after `npm start`: where it answers, and what it runs on. */
export function startupBanner(environment: Environment): StartupBanner {
  const base = environment.publicUrl;
  return {
    api: `${base}/api/v1`,
    docs: `${base}/docs`,
    database: environment.DATABASE_URL
      ? `PostgreSQL at ${where(environment.DATABASE_URL)} (DATABASE_URL)`
      : `embedded PostgreSQL, data in ${resolve(environment.DATA_DIR)}`,
    locks: environment.REDIS_URL
      ? `Redis at ${where(environment.REDIS_URL)} (REDIS_URL)`
      : 'in-process (no REDIS_URL): run one instance only',
    payments: environment.paymentSimulator
      ? 'the payment simulator (no STRIPE_SECRET_KEY): a Pay button instead of a card'
      : 'Stripe',
    firstAdmin: 'register, then `npm run cli -- admin grant you@example.com`',
  };
}

/** The banner as a short block of text for a terminal. */
export function bannerText(banner: StartupBanner): string {
  const rows: [string, string][] = [
    ['API', banner.api],
    ['Docs', banner.docs],
    ['Database', banner.database],
    ['Locks', banner.locks],
    ['Payments', banner.payments],
    ['First admin', banner.firstAdmin],
  ];
  return [
    '',
    '  Ticketing API is ready',
    ...rows.map(([label, value]) => `  ${label.padEnd(13)}${value}`),
    '',
    '',
  ].join('\n');
}
