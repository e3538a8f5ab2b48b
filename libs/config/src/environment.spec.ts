import { generateKeyPairSync } from 'node:crypto';
import { rawEd25519PublicKey } from './ed25519-keys';
import { InvalidConfigurationError, validateEnvironment } from './environment';

const ticketKey = generateKeyPairSync('ed25519').privateKey;
const TICKET_SIGNING_KEY = ticketKey.export({ format: 'pem', type: 'pkcs8' }).toString();

function problemsOf(raw: Record<string, string>): string[] {
  try {
    validateEnvironment(raw);
  } catch (error) {
    if (error instanceof InvalidConfigurationError) return error.problems;
    throw error;
  }
  return [];
}

describe('validateEnvironment', () => {
  it('runs with no configuration at all, on the documented defaults', () => {
    const environment = validateEnvironment({});
    expect(environment).toEqual(
      expect.objectContaining({
        PORT: 3000,
        DATABASE_URL: undefined,
        REDIS_URL: undefined,
        HOLD_SECONDS: 600,
        REFUND_CUTOFF_HOURS: 24,
        AUTH_RATE_LIMIT: 30,
        JWT_EXPIRES_IN: 3600,
        MIGRATIONS_RUN: true,
        WEB_CONCURRENCY: 1,
        LOG_LEVEL: 'info',
      }),
    );
    expect(environment.publicUrl).toBe('http://localhost:3000');
  });

  it('converts numbers and booleans, and ignores variables it does not know', () => {
    const environment = validateEnvironment({
      PORT: '8080',
      MIGRATIONS_RUN: 'false',
      AUTH_RATE_LIMIT: '0',
      PUBLIC_URL: 'https://tickets.example/',
      PATH: '/usr/bin',
    });
    expect(environment).toEqual(
      expect.objectContaining({ PORT: 8080, MIGRATIONS_RUN: false, AUTH_RATE_LIMIT: 0 }),
    );
    expect(environment.publicUrl).toBe('https://tickets.example');
    expect(environment).not.toHaveProperty('PATH');
  });

  it('reports every invalid variable, one line each, naming the variable and the value', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://localhost/tickets',
      HOLD_SECONDS: '0',
      MIGRATIONS_RUN: 'maybe',
      LOG_LEVEL: 'loud',
      STRIPE_SECRET_KEY: 'sk_test_abc',
    });
    const variables = problems.map((line) => line.split(':')[0]);
    expect(variables.sort()).toEqual(
      [
        'DATABASE_URL',
        'HOLD_SECONDS',
        'LOG_LEVEL',
        'MIGRATIONS_RUN',
        'PORT',
        'STRIPE_WEBHOOK_SECRET',
      ].sort(),
    );
    expect(problems.find((line) => line.startsWith('PORT:'))).toContain('"eighty"');
    problems.forEach((line) => expect(line).not.toContain('\n'));
  });

  it('requires a strong JWT_SECRET in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toContainEqual(
      expect.stringMatching(/^JWT_SECRET: .*is required in production/),
    );
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'short' })).toContainEqual(
      expect.stringMatching(/^JWT_SECRET: must be at least 32 characters/),
    );
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) })).not.toContainEqual(
      expect.stringMatching(/^JWT_SECRET/),
    );
  });

  describe('never prints a secret or a password', () => {
    const jwtSecret = 'short-but-secret-1234';
    const stripeKey = 'sk_live_51SuperSecretKeyValue';
    const webhookSecret = 'whsec_s3cr3tSigningValue';
    const password = 'p4ss-w0rd-Value';

    function linesFor(raw: Record<string, string>): string {
      return problemsOf(raw).join('\n');
    }

    it('says what is wrong with a secret without echoing it', () => {
      const lines = problemsOf({
        NODE_ENV: 'production',
        JWT_SECRET: jwtSecret,
        STRIPE_SECRET_KEY: `${stripeKey}\n`,
        STRIPE_WEBHOOK_SECRET: `${webhookSecret} `,
      });
      const text = lines.join('\n');
      expect(text).not.toContain(jwtSecret);
      expect(text).not.toContain('SuperSecret');
      expect(text).not.toContain('s3cr3t');
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^JWT_SECRET: must be at least 32 characters.*21 characters/),
          expect.stringMatching(/^STRIPE_SECRET_KEY: .*whitespace/),
          expect.stringMatching(/^STRIPE_WEBHOOK_SECRET: .*whitespace/),
        ]),
      );
    });

    it.each([
      [
        'DATABASE_URL',
        `mysql://admin:${password}@db.example/tickets`,
        'mysql://admin:***@db.example/tickets',
      ],
      [
        'DATABASE_URL',
        `postgres://admin:${password}@db.example/ti ckets`,
        'postgres://admin:***@db.example/ti ckets',
      ],
      ['REDIS_URL', `http://:${password}@cache.example:6379`, 'http://:***@cache.example:6379'],
      [
        'SMTP_URL',
        `mail://mailer:${password}@smtp.example:587`,
        'mail://mailer:***@smtp.example:587',
      ],
      [
        'DATABASE_URL',
        `mysql://db.example/tickets?password=${password}`,
        'mysql://db.example/tickets?password=***',
      ],
      ['STRIPE_API_URL', `ftp://user:${password}@stripe.example`, 'ftp://user:***@stripe.example'],
    ])('echoes %s with its password masked', (variable, value, shown) => {
      const text = linesFor({ [variable]: value });
      expect(text).not.toContain(password);
      expect(text).toMatch(new RegExp(`^${variable}: `));
      expect(text).toContain(JSON.stringify(shown));
    });

    it('does not echo a value with credentials it cannot parse', () => {
      const text = linesFor({ DATABASE_URL: `admin:${password}@db.example` });
      expect(text).toMatch(/^DATABASE_URL: must be a postgres:\/\/ URL/);
      expect(text).not.toContain(password);
    });
  });

  it('requires a Stripe key in production, where the payment simulator never runs', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), TICKET_SIGNING_KEY };
    expect(problemsOf(production)).toEqual([
      expect.stringMatching(/^STRIPE_SECRET_KEY: is required in production/),
    ]);
    expect(problemsOf({ ...production, STRIPE_SECRET_KEY: 'sk_live_abc' })).toEqual([
      expect.stringMatching(/^STRIPE_WEBHOOK_SECRET: must be set/),
    ]);
    expect(
      problemsOf({
        ...production,
        STRIPE_SECRET_KEY: 'sk_live_abc',
        STRIPE_WEBHOOK_SECRET: 'whsec_x',
      }),
    ).toEqual([]);
  });

  describe('PAYMENT_SIMULATOR: the simulator stands in for Stripe only where allowed', () => {
    const DATABASE_URL = 'postgres://postgres@127.0.0.1/tickets';
    const stripe = { STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_x' };
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), TICKET_SIGNING_KEY };

    it.each([
      ['embedded mode, auto (the default)', {}, true],
      ['embedded mode, true', { PAYMENT_SIMULATOR: 'true' }, true],
      ['a database, true', { DATABASE_URL, PAYMENT_SIMULATOR: 'true' }, true],
      ['a database and a Stripe key', { DATABASE_URL, ...stripe }, false],
      [
        'a Stripe key wins over true',
        { DATABASE_URL, PAYMENT_SIMULATOR: 'true', ...stripe },
        false,
      ],
      ['embedded mode, false, a Stripe key', { PAYMENT_SIMULATOR: 'false', ...stripe }, false],
      ['production, embedded mode, a Stripe key', { ...production, ...stripe }, false],
    ])('%s: simulator %s', (_case, raw: Record<string, string>, simulator) => {
      expect(problemsOf(raw)).toEqual([]);
      expect(validateEnvironment(raw).paymentSimulator).toBe(simulator);
    });

    it('refuses a database with no Stripe key and no simulator asked for, naming STRIPE_SECRET_KEY', () => {
      for (const raw of [{ DATABASE_URL }, { DATABASE_URL, PAYMENT_SIMULATOR: 'auto' }] as Record<
        string,
        string
      >[]) {
        expect(problemsOf(raw)).toEqual([
          'STRIPE_SECRET_KEY: is required with DATABASE_URL set, or PAYMENT_SIMULATOR=true for the local payment simulator (not set)',
        ]);
      }
      for (const raw of [
        { PAYMENT_SIMULATOR: 'false' },
        { DATABASE_URL, PAYMENT_SIMULATOR: 'false' },
      ] as Record<string, string>[]) {
        expect(problemsOf(raw)).toEqual([
          'STRIPE_SECRET_KEY: is required with PAYMENT_SIMULATOR=false (not set)',
        ]);
      }
    });

    it('never runs it in production, and says so when asked to', () => {
      expect(problemsOf({ ...production, ...stripe, PAYMENT_SIMULATOR: 'true' })).toEqual([
        'PAYMENT_SIMULATOR: must not be true in production, where the payment simulator never runs',
      ]);
      expect(problemsOf({ ...production, PAYMENT_SIMULATOR: 'true' })).toEqual([
        expect.stringMatching(/^STRIPE_SECRET_KEY: is required in production/),
        'PAYMENT_SIMULATOR: must not be true in production, where the payment simulator never runs',
      ]);
    });

    it('takes auto, true or false only', () => {
      expect(problemsOf({ PAYMENT_SIMULATOR: 'yes' })).toEqual([
        expect.stringMatching(/^PAYMENT_SIMULATOR: must be one of .*auto.*got "yes"/),
      ]);
    });
  });

  describe('TRUST_PROXY: which X-Forwarded-For hops to believe', () => {
    it.each([
      ['', false],
      ['false', false],
      ['0', false],
      ['1', 1],
      [' 2 ', 2],
      ['10.0.0.7', ['10.0.0.7']],
      [
        '10.0.0.0/8, 192.168.1.1,::1, fd00::/8,loopback',
        ['10.0.0.0/8', '192.168.1.1', '::1', 'fd00::/8', 'loopback'],
      ],
    ])('takes %j', (value, parsed) => {
      expect(problemsOf({ TRUST_PROXY: value })).toEqual([]);
      expect(validateEnvironment({ TRUST_PROXY: value }).TRUST_PROXY).toEqual(parsed);
    });

    it('refuses true with one line saying what to set instead', () => {
      const problems = problemsOf({ TRUST_PROXY: 'true' });
      expect(problems).toEqual([
        expect.stringMatching(
          /^TRUST_PROXY: must not be true: .*X-Forwarded-For.*number of proxies in front \(e\.g\. 1\) or their addresses\/CIDRs/,
        ),
      ]);
    });

    it.each(['yes', '10.0.0.0/33', '10.0.0.1/8/1', '300.1.1.1', '10.0.0.1,', '33', '-1'])(
      'refuses %j',
      (value) => {
        expect(problemsOf({ TRUST_PROXY: value })).toEqual([
          expect.stringMatching(/^TRUST_PROXY: must /),
        ]);
      },
    );
  });

  it('requires an Ed25519 TICKET_SIGNING_KEY in production, as PEM or base64', () => {
    const jwt = {
      JWT_SECRET: 'x'.repeat(32),
      STRIPE_SECRET_KEY: 'sk_live_abc',
      STRIPE_WEBHOOK_SECRET: 'whsec_x',
    };
    expect(problemsOf({ NODE_ENV: 'production', ...jwt })).toEqual([
      expect.stringMatching(/^TICKET_SIGNING_KEY: .*is required in production/),
    ]);
    const der = ticketKey.export({ format: 'der', type: 'pkcs8' });
    for (const accepted of [
      TICKET_SIGNING_KEY,
      TICKET_SIGNING_KEY.replace(/\n/g, '\\n'),
      der.toString('base64'),
      der.subarray(-32).toString('base64url'),
    ]) {
      expect(problemsOf({ NODE_ENV: 'production', ...jwt, TICKET_SIGNING_KEY: accepted })).toEqual(
        [],
      );
    }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    for (const rejected of ['not-a-key', rsa.toString()]) {
      const problems = problemsOf({ TICKET_SIGNING_KEY: rejected });
      expect(problems).toEqual([expect.stringMatching(/^TICKET_SIGNING_KEY: must be an Ed25519/)]);
      expect(problems[0]).not.toContain(rejected.slice(0, 12));
    }
  });

  it('takes retired ticket keys as comma-separated raw public keys', () => {
    const publicKeys = [0, 1].map(() =>
      rawEd25519PublicKey(generateKeyPairSync('ed25519').publicKey).toString('base64url'),
    );
    expect(problemsOf({ TICKET_SIGNING_KEYS_RETIRED: publicKeys.join(',') })).toEqual([]);
    expect(problemsOf({ TICKET_SIGNING_KEYS_RETIRED: `${publicKeys[0]},abc` })).toEqual([
      expect.stringMatching(/^TICKET_SIGNING_KEYS_RETIRED: must be comma-separated Ed25519/),
    ]);
  });

  it('allows several server processes only with shared PostgreSQL and Redis', () => {
    expect(problemsOf({ WEB_CONCURRENCY: '2' })).toEqual([
      expect.stringMatching(/^WEB_CONCURRENCY: .*DATABASE_URL and REDIS_URL/),
    ]);
    expect(
      problemsOf({
        WEB_CONCURRENCY: '2',
        DATABASE_URL: 'postgres://postgres@127.0.0.1/tickets',
        REDIS_URL: 'redis://127.0.0.1:6379',
        PAYMENT_SIMULATOR: 'true',
      }),
    ).toEqual([]);
  });
});
