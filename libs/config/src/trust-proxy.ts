import { isIP } from 'node:net';

/**
 * Which hops of X-Forwarded-For to believe, as Fastify's `trustProxy` takes it: `false`
 * (the socket's peer is the client), a number of proxies in front, or their addresses.
 * Never `true`: every client writes X-Forwarded-For, so trusting all of it gives each
 * request whatever client address it claims (and a fresh per-IP rate limit).
 */
export type TrustProxy = false | number | string[];

/** The names proxy-addr (Fastify's) accepts for address ranges, besides addresses and CIDRs. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const MAX_HOPS = 32;

export const TRUST_PROXY_TRUE_REFUSED =
  'must not be true: clients write X-Forwarded-For themselves, so every hop would be believed; set the number of proxies in front (e.g. 1) or their addresses/CIDRs (e.g. 10.0.0.0/8)';

/** `''`, `false`, `0` → false; `2` → 2; `10.0.0.1, 10.1.0.0/16` → a list. Else as given. */
export function parseTrustProxy({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text === '' || text === 'false' || text === '0') return false;
  if (/^\d+$/.test(text)) return Number(text);
  if (text === 'true') return true;
  return text.split(',').map((entry) => entry.trim());
}

function isProxyAddress(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

export function isTrustProxy(value: unknown): value is TrustProxy {
  if (value === false) return true;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 && value <= MAX_HOPS;
  return Array.isArray(value) && value.length > 0 && value.every(isProxyAddress);
}

export function trustProxyProblem(value: unknown): string {
  if (value === true) return TRUST_PROXY_TRUE_REFUSED;
  if (typeof value === 'number') return `must be a hop count from 1 to ${MAX_HOPS}`;
  return 'must be false, a number of proxy hops, or a comma list of proxy addresses/CIDRs';
}
