import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MinLength,
  Min,
  ValidateBy,
  ValidateIf,
  validateSync,
} from 'class-validator';
import { parse as parseDotenv } from 'dotenv';
import { areEd25519PublicKeys, isEd25519PrivateKey } from './ed25519-keys';
import { isTrustProxy, parseTrustProxy, trustProxyProblem, type TrustProxy } from './trust-proxy';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }): unknown =>
  value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;
const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  value === '' ? undefined : value;

/**
 * Every setting the server and the CLI read, validated once at start.
 * Defaults make `npm start` work with no configuration at all (embedded PostgreSQL,
 * in-process ticket locks, payment simulator).
 */
export class Environment {
  /**
   * `production` makes JWT_SECRET, TICKET_SIGNING_KEY and STRIPE_SECRET_KEY required (the server
   * refuses to start without them), never runs the payment simulator, and logs JSON lines. `test`
   * is what the test suites run as.
   * @category Server
   */
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  /**
   * The HTTP port: the API, its docs, the dashboard, the sockets, health checks and metrics.
   * @category Server
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  /**
   * Server processes sharing the port (Node cluster), e.g. one per core. More than one needs
   * DATABASE_URL and REDIS_URL: the embedded database and in-process locks are per process.
   * @category Server
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  WEB_CONCURRENCY = 1;

  /**
   * The PostgreSQL database, as a `postgres://` URL. Unset: an embedded PostgreSQL keeps its data
   * under DATA_DIR and listens on EMBEDDED_DATABASE_PORT (one instance only).
   * @example postgres://postgres@127.0.0.1:5432/tickets
   * @category Database
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// URL' })
  DATABASE_URL?: string = undefined;

  /**
   * Connections to PostgreSQL per server process. Every instance and every process of
   * WEB_CONCURRENCY opens its own pool: keep their sum under PostgreSQL's `max_connections`.
   * @category Database
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 20;

  /**
   * Run pending migrations at start, under an advisory lock so that instances starting together
   * take turns. `false`: run them separately with `npm run migration:run` while no instance is
   * starting.
   * @category Database
   */
  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  MIGRATIONS_RUN = true;

  /**
   * Redis (`rediss://` for TLS), shared by every instance: the ticket lock store, rate limits, the
   * event streams and the sockets' adapter. Unset: all of them stay in-process, so only one
   * instance may run.
   * @example redis://127.0.0.1:6379/0
   * @category Redis
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/\S*$/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL?: string = undefined;

  /**
   * Where local state lives: the embedded database, the JWT secret and ticket signing key generated
   * outside production, and (embedded mode without SMTP_URL) the buyers' mails as .eml files.
   * @category Database
   */
  @IsString()
  DATA_DIR = '.data';

  /**
   * Port of the embedded PostgreSQL, used only while DATABASE_URL is unset.
   * @category Database
   */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(65535)
  EMBEDDED_DATABASE_PORT = 54329;

  /**
   * The HMAC secret that signs access tokens, at least 32 characters. Required in production; unset
   * elsewhere, one is generated once into DATA_DIR/jwt-secret. Changing it signs every user out.
   * @category Accounts
   */
  @Transform(emptyToUndefined)
  @ValidateIf((env: Environment) => env.NODE_ENV === 'production' || env.JWT_SECRET !== undefined)
  @IsString({ message: 'is required in production' })
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_SECRET?: string = undefined;

  /**
   * Lifetime of an access token, in seconds.
   * @category Accounts
   */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(30 * 24 * 3600)
  JWT_EXPIRES_IN = 3600;

  /**
   * The Ed25519 private key that signs e-ticket codes: PEM (PKCS#8; its line breaks may be written
   * as `\n`) or base64 of its DER or 32-byte seed. Make one with `openssl genpkey -algorithm
   * ed25519`. Required in production; unset elsewhere, one is generated once into
   * DATA_DIR/ticket-signing-key.pem.
   * @category Tickets
   */
  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: Environment) => env.NODE_ENV === 'production' || env.TICKET_SIGNING_KEY !== undefined,
  )
  @IsString({ message: 'is required in production' })
  @ValidateBy({
    name: 'isEd25519PrivateKey',
    validator: {
      validate: isEd25519PrivateKey,
      defaultMessage: () => 'must be an Ed25519 private key (PEM, or base64 of DER or seed)',
    },
  })
  TICKET_SIGNING_KEY?: string = undefined;

  /**
   * Comma-separated public keys (base64url, raw 32 bytes, as GET /api/v1/check-in/keys shows them)
   * of former signing keys: their codes still admit, and scanners still get them. Remove a key once
   * its events are over.
   * @category Tickets
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @ValidateBy({
    name: 'areEd25519PublicKeys',
    validator: {
      validate: areEd25519PublicKeys,
      defaultMessage: () => 'must be comma-separated Ed25519 public keys (base64url, 32 bytes)',
    },
  })
  TICKET_SIGNING_KEYS_RETIRED?: string = undefined;

  /**
   * How long a booking holds its tickets while the buyer pays, in seconds.
   * @category Sales
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 3600)
  HOLD_SECONDS = 600;

  /**
   * Bookings one buyer may attempt per minute for one event (429 with Retry-After beyond
   * it); 0 turns the limit off. Counted in the lock store's claim step, so it costs the
   * booking path no extra round trip.
   * @category Sales
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100000)
  BOOKING_RATE_LIMIT = 30;

  /**
   * How long a waitlist offer holds its tickets for the user it is offered to, in minutes.
   * @category Sales
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(7 * 24 * 60)
  WAITLIST_OFFER_MINUTES = 30;

  /**
   * A buyer (or an admin) can cancel a paid order, and have it refunded, until this many hours
   * before the event starts.
   * @category Sales
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(24 * 365)
  REFUND_CUTOFF_HOURS = 24;

  /**
   * Background jobs (owed refunds, checkout sessions to expire, mails to send) give up on a row
   * after this many failures and leave it for a human: logged at error level and counted in the
   * metrics.
   * @category Background jobs
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  JOB_MAX_ATTEMPTS = 12;

  /**
   * Wait after a row's first failure, in milliseconds; doubled after each further one up to
   * JOB_BACKOFF_MAX_MS.
   * @category Background jobs
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 3600_000)
  JOB_BACKOFF_BASE_MS = 2_000;

  /**
   * Longest wait between two attempts on a failing row, in milliseconds.
   * @category Background jobs
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(7 * 24 * 3600_000)
  JOB_BACKOFF_MAX_MS = 3600_000;

  /**
   * Register and login requests per minute per client IP; 0 turns the limit off.
   * @category Accounts
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100000)
  AUTH_RATE_LIMIT = 30;

  /**
   * Base URL the buyer's browser reaches this server at (checkout and return links, links in
   * emails). Unset: `http://localhost:` and PORT.
   * @example https://tickets.example.com
   * @category Server
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  PUBLIC_URL?: string = undefined;

  /**
   * Behind a load balancer or proxy, where the client IP (per-IP rate limits) comes from:
   * false (the socket's peer), the number of proxies in front (the address the outermost
   * one saw), or a comma list of the proxies' addresses/CIDRs. Never `true`.
   * @example 1
   * @category Server
   */
  @Transform(parseTrustProxy)
  @ValidateBy({
    name: 'isTrustProxy',
    validator: { validate: isTrustProxy, defaultMessage: (args) => trustProxyProblem(args?.value) },
  })
  TRUST_PROXY: TrustProxy = false;

  /**
   * Comma-separated origins allowed to call the API and the sockets from a browser; empty: no
   * cross-origin browser access.
   * @example https://shop.example.com,https://admin.example.com
   * @category Server
   */
  @IsString()
  CORS_ORIGINS = '';

  /**
   * Payments go through Stripe with this key. Unset: the local payment simulator stands in
   * where PAYMENT_SIMULATOR allows it, and the server does not start where it does not.
   * @example sk_test_...
   * @category Payments
   */
  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: Environment) => env.NODE_ENV === 'production' || env.STRIPE_SECRET_KEY !== undefined,
  )
  @Matches(/^(sk|rk)_(test|live)_\S+$/, { message: 'must look like sk_test_… or sk_live_…' })
  @IsString({ message: 'is required in production, where the payment simulator never runs' })
  STRIPE_SECRET_KEY?: string = undefined;

  /**
   * The signing secret of the webhook endpoint (`whsec_…`), required with a Stripe key. Unset
   * without a key: the simulator's events are signed with a secret derived from JWT_SECRET.
   * @example whsec_...
   * @category Payments
   */
  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: Environment) =>
      env.STRIPE_SECRET_KEY !== undefined || env.STRIPE_WEBHOOK_SECRET !== undefined,
  )
  @Matches(/^whsec_\S+$/, { message: 'must be set (whsec_…) whenever STRIPE_SECRET_KEY is' })
  STRIPE_WEBHOOK_SECRET?: string = undefined;

  /**
   * Another Stripe-compatible API to talk to instead of Stripe (stripe-mock, the test suites'
   * fake). Unset: Stripe itself.
   * @example http://localhost:12111
   * @category Payments
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  STRIPE_API_URL?: string = undefined;

  /**
   * Whether the local payment simulator (a Pay button instead of a card) may stand in for a
   * missing STRIPE_SECRET_KEY: `auto` only in embedded mode (no DATABASE_URL), `true` also
   * with a database, `false` never. Never in production, whatever it says.
   * @category Payments
   */
  @IsIn(['auto', 'true', 'false'])
  PAYMENT_SIMULATOR: 'auto' | 'true' | 'false' = 'auto';

  /**
   * Timeout of one call to Stripe, in milliseconds.
   * @category Payments
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120000)
  STRIPE_TIMEOUT_MS = 10000;

  /**
   * The buyer's emails go out through this server (smtp://user:pass@host:587, smtps:// for
   * TLS from the start). Unset: they are logged, and in embedded mode written as .eml files
   * under DATA_DIR/mail.
   * @example smtp://user:pass@smtp.example.com:587
   * @category Email
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^smtps?:\/\/\S+$/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string = undefined;

  /**
   * The sender of the buyer's emails: an address (named SHOP_NAME) or `Name <address>`.
   * @category Email
   */
  @Matches(/^([^<>\r\n]+ <[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/, {
    message: 'must be an address or "Name <address>"',
  })
  MAIL_FROM = 'tickets@localhost';

  /**
   * The shop's name as buyers see it in emails.
   * @category Email
   */
  @IsString()
  @MinLength(1)
  SHOP_NAME = 'Tickets';

  /**
   * The least severe log lines written; `silent` writes none. Log lines carry the request id.
   * @category Logs
   */
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /**
   * `json` (one JSON object a line, pino) or `pretty` (readable lines). Unset: pretty on a terminal
   * outside production, JSON lines otherwise.
   * @category Logs
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['json', 'pretty'])
  LOG_FORMAT?: 'json' | 'pretty' = undefined;

  /**
   * Published outbox rows (and consumers' records of applied messages) are kept this many hours.
   * @category Events out
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 30)
  OUTBOX_RETENTION_HOURS = 24;

  /**
   * `false`: this instance does not publish the outbox; another one must (e.g. a dedicated
   * worker instance). Consumers, the socket gateway and emails still run here.
   * @category Events out
   */
  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  OUTBOX_RELAY_ENABLED = true;

  /**
   * Each Redis Stream is trimmed to about this many entries (XADD MAXLEN ~).
   * @category Events out
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(10_000_000)
  OUTBOX_STREAM_MAXLEN = 100_000;

  /**
   * A stream entry a consumer took but did not acknowledge for this long (the consumer died,
   * or its handler failed) is claimed by another consumer of the group and handled again.
   * In milliseconds.
   * @category Events out
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  OUTBOX_CLAIM_IDLE_MS = 30_000;

  /**
   * `false`: no GET /metrics (404), no per-request timing and no sale counters.
   * @category Metrics
   */
  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  METRICS_ENABLED = true;

  /**
   * Set (at least 16 characters): GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`.
   * Unset: it is public, as most exporters are; keep it on a private network.
   * @category Metrics
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  METRICS_TOKEN?: string = undefined;

  /** The simulator takes payments: no Stripe key, and PAYMENT_SIMULATOR allows it here. */
  get paymentSimulator(): boolean {
    if (this.STRIPE_SECRET_KEY !== undefined || this.NODE_ENV === 'production') return false;
    return (
      this.PAYMENT_SIMULATOR === 'true' ||
      (this.PAYMENT_SIMULATOR === 'auto' && this.DATABASE_URL === undefined)
    );
  }

  get publicUrl(): string {
    return (this.PUBLIC_URL ?? `http://localhost:${this.PORT}`).replace(/\/+$/, '');
  }
}

export class InvalidConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const VARIABLES = Object.keys(new Environment());

// By name, so that variables added later are covered too.
/** Never echoed when invalid: the line says what is wrong with the value instead. */
const SECRET = /SECRET|PASSWORD|TOKEN|_KEY$/;
/** Echoed with the password (in the user info or a query parameter) masked. */
const URL_VARIABLE = /_URL$/;

function describeSecret(value: unknown): string {
  if (typeof value !== 'string') return 'value not shown';
  const whitespace = /\s/.test(value) ? ', with whitespace or a line break in it' : '';
  return `value not shown: ${value.length} characters${whitespace}`;
}

/** `scheme://user:***@host/path?password=***`; nothing when credentials are not where expected. */
function maskUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return JSON.stringify(value);
  const start = value.indexOf('://') + 3;
  const at = value.lastIndexOf('@');
  let masked = value;
  if (at >= 0) {
    if (start < 3 || at < start) return undefined;
    const user = value.slice(start, at).split(':')[0];
    const hasPassword = value.slice(start, at).includes(':');
    masked = `${value.slice(0, start)}${user}${hasPassword ? ':***' : ''}${value.slice(at)}`;
  }
  return JSON.stringify(
    masked.replace(/([?&][^=&#]*(?:pass|secret|token|key|auth)[^=&#]*=)[^&#]*/gi, '$1***'),
  );
}

/** What an invalid value looks like in the start-up error, without giving a secret away. */
function shown(variable: string, value: unknown): string {
  if (value === undefined) return 'not set';
  if (SECRET.test(variable)) return describeSecret(value);
  if (URL_VARIABLE.test(variable)) {
    const masked = maskUrl(value);
    return masked === undefined ? 'value not shown: it has credentials' : `got ${masked}`;
  }
  return `got ${JSON.stringify(value)}`;
}

/**
 * Without a Stripe key, payments need the simulator; a deployment with a database must ask
 * for it (PAYMENT_SIMULATOR=true), so that a forgotten key never lets anyone "pay" with a
 * button. Production already requires the key (STRIPE_SECRET_KEY's own check).
 */
function paymentProblems(env: Environment): string[] {
  if (env.NODE_ENV === 'production') {
    return env.PAYMENT_SIMULATOR === 'true'
      ? [
          'PAYMENT_SIMULATOR: must not be true in production, where the payment simulator never runs',
        ]
      : [];
  }
  const invalid = !['auto', 'true', 'false'].includes(env.PAYMENT_SIMULATOR);
  if (invalid || env.STRIPE_SECRET_KEY !== undefined || env.paymentSimulator) return [];
  return [
    env.PAYMENT_SIMULATOR === 'false'
      ? 'STRIPE_SECRET_KEY: is required with PAYMENT_SIMULATOR=false (not set)'
      : 'STRIPE_SECRET_KEY: is required with DATABASE_URL set, or PAYMENT_SIMULATOR=true for the local payment simulator (not set)',
  ];
}

export function validateEnvironment(raw: Record<string, unknown>): Environment {
  const ours = Object.fromEntries(
    VARIABLES.filter((key) => key in raw).map((key) => [key, raw[key]]),
  );
  const env = plainToInstance(Environment, ours);
  // One line per variable, with everything wrong about it.
  const problems = validateSync(env, { skipMissingProperties: false }).map((error) => {
    const messages = Object.values(error.constraints ?? {}).map((message) =>
      message.replace(new RegExp(`^${error.property} `), ''),
    );
    return `${error.property}: ${messages.join('; ')} (${shown(error.property, error.value)})`;
  });
  if (env.WEB_CONCURRENCY > 1 && !(env.DATABASE_URL && env.REDIS_URL)) {
    problems.push('WEB_CONCURRENCY: more than 1 process needs DATABASE_URL and REDIS_URL');
  }
  problems.push(...paymentProblems(env));
  if (problems.length > 0) throw new InvalidConfigurationError(problems);
  return env;
}

/**
 * The environment of this process: `.env` in the working directory, then real variables,
 * then overrides. Tests skip the `.env` file so a developer's settings cannot leak in.
 */
export function loadEnvironment(
  overrides: Record<string, string> = {},
  { readEnvFile = true }: { readEnvFile?: boolean } = {},
): Environment {
  const envFile = resolve(process.cwd(), '.env');
  const fromFile = readEnvFile && existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {};
  return validateEnvironment({ ...fromFile, ...process.env, ...overrides });
}
