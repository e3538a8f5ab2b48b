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
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  /**
   * Server processes sharing the port (Node cluster), e.g. one per core. More than one needs
   * DATABASE_URL and REDIS_URL: the embedded database and in-process locks are per process.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  WEB_CONCURRENCY = 1;

  /** Unset: an embedded PostgreSQL keeps its data under DATA_DIR. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// URL' })
  DATABASE_URL?: string = undefined;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 20;

  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  MIGRATIONS_RUN = true;

  /** Unset: in-process ticket locks and rate limits, so only one instance may run. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/\S*$/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL?: string = undefined;

  /** Where the embedded database and the generated local JWT secret live. */
  @IsString()
  DATA_DIR = '.data';

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(65535)
  EMBEDDED_DATABASE_PORT = 54329;

  @Transform(emptyToUndefined)
  @ValidateIf((env: Environment) => env.NODE_ENV === 'production' || env.JWT_SECRET !== undefined)
  @IsString({ message: 'is required in production' })
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_SECRET?: string = undefined;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(30 * 24 * 3600)
  JWT_EXPIRES_IN = 3600;

  /**
   * The Ed25519 private key that signs e-ticket codes: PEM (PKCS#8) or base64 of its DER or
   * 32-byte seed. Required in production; unset locally, one is generated into DATA_DIR.
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
   * Comma-separated public keys (base64url, raw 32 bytes, as GET /check-in/keys shows them)
   * of former signing keys: their codes still admit, and scanners still get them.
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

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 3600)
  HOLD_SECONDS = 600;

  /** How long a waitlist offer's hold lasts. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(7 * 24 * 60)
  WAITLIST_OFFER_MINUTES = 30;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(24 * 365)
  REFUND_CUTOFF_HOURS = 24;

  /** Background jobs give up on a row (an owed refund, a session to expire) after this many failures. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  JOB_MAX_ATTEMPTS = 12;

  /** Wait after a row's first failure, doubled after each further one up to JOB_BACKOFF_MAX_MS. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 3600_000)
  JOB_BACKOFF_BASE_MS = 2_000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(7 * 24 * 3600_000)
  JOB_BACKOFF_MAX_MS = 3600_000;

  /** Register and login requests per minute per client IP; 0 turns the limit off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100000)
  AUTH_RATE_LIMIT = 30;

  /** Base URL the buyer's browser reaches this server at (checkout and return links). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  PUBLIC_URL?: string = undefined;

  /**
   * Behind a load balancer or proxy, where the client IP (per-IP rate limits) comes from:
   * false (the socket's peer), the number of proxies in front (the address the outermost
   * one saw), or a comma list of the proxies' addresses/CIDRs. Never `true`.
   */
  @Transform(parseTrustProxy)
  @ValidateBy({
    name: 'isTrustProxy',
    validator: { validate: isTrustProxy, defaultMessage: (args) => trustProxyProblem(args?.value) },
  })
  TRUST_PROXY: TrustProxy = false;

  /** Comma-separated origins allowed by CORS; empty: no cross-origin browser access. */
  @IsString()
  CORS_ORIGINS = '';

  /**
   * Payments go through Stripe with this key. Unset: the local payment simulator stands in
   * where PAYMENT_SIMULATOR allows it, and the server does not start where it does not.
   */
  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: Environment) => env.NODE_ENV === 'production' || env.STRIPE_SECRET_KEY !== undefined,
  )
  @Matches(/^(sk|rk)_(test|live)_\S+$/, { message: 'must look like sk_test_… or sk_live_…' })
  @IsString({ message: 'is required in production, where the payment simulator never runs' })
  STRIPE_SECRET_KEY?: string = undefined;

  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: Environment) =>
      env.STRIPE_SECRET_KEY !== undefined || env.STRIPE_WEBHOOK_SECRET !== undefined,
  )
  @Matches(/^whsec_\S+$/, { message: 'must be set (whsec_…) whenever STRIPE_SECRET_KEY is' })
  STRIPE_WEBHOOK_SECRET?: string = undefined;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  STRIPE_API_URL?: string = undefined;

  /**
   * Whether the local payment simulator (a Pay button instead of a card) may stand in for a
   * missing STRIPE_SECRET_KEY: `auto` only in embedded mode (no DATABASE_URL), `true` also
   * with a database, `false` never. Never in production, whatever it says.
   */
  @IsIn(['auto', 'true', 'false'])
  PAYMENT_SIMULATOR: 'auto' | 'true' | 'false' = 'auto';

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120000)
  STRIPE_TIMEOUT_MS = 10000;

  /**
   * The buyer's emails go out through this server (smtp://user:pass@host:587, smtps:// for
   * TLS from the start). Unset: they are logged, and in embedded mode written as .eml files
   * under DATA_DIR/mail.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^smtps?:\/\/\S+$/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string = undefined;

  /** The sender of the buyer's emails: an address (named SHOP_NAME) or `Name <address>`. */
  @Matches(/^([^<>\r\n]+ <[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/, {
    message: 'must be an address or "Name <address>"',
  })
  MAIL_FROM = 'tickets@localhost';

  /** The shop's name as buyers see it in emails. */
  @IsString()
  @MinLength(1)
  SHOP_NAME = 'Tickets';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** Unset: human-readable on a terminal outside production, JSON lines otherwise. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['json', 'pretty'])
  LOG_FORMAT?: 'json' | 'pretty' = undefined;

  /** Published outbox rows (and consumers' records of applied messages) are kept this long. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 30)
  OUTBOX_RETENTION_HOURS = 24;

  /**
   * false: this instance does not publish the outbox; another one must (e.g. a dedicated
   * worker instance). Consumers, the socket gateway and emails still run here.
   */
  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  OUTBOX_RELAY_ENABLED = true;

  /** Each Redis Stream is trimmed to about this many entries (XADD MAXLEN ~). */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(10_000_000)
  OUTBOX_STREAM_MAXLEN = 100_000;

  /**
   * A stream entry a consumer took but did not acknowledge for this long (the consumer died,
   * or its handler failed) is claimed by another consumer of the group and handled again.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  OUTBOX_CLAIM_IDLE_MS = 30_000;

  /** false: no GET /metrics (404), no per-request timing and no sale counters. */
  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  METRICS_ENABLED = true;

  /** Set: GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; unset: it is public. */
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
