import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { collect, ensureBuilt, freePort, SERVER_MAIN } from '../support/processes';
import { eventually } from '../support/eventually';

const BANNER_LABELS = ['API', 'Docs', 'Database', 'Locks', 'Payments', 'First admin'];

/**
 * What a person sees after `npm start`: readable lines and a banner on a terminal (a real
 * pseudo-terminal from util-linux `script`), JSON lines for machines.
 */
describe('start-up logs', () => {
  beforeAll(() => ensureBuilt(), 5 * 60_000);

  async function serverEnv(extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(await freePort()),
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      JWT_SECRET: process.env.JWT_SECRET,
      PAYMENT_SIMULATOR: 'true',
      ...extra,
    };
  }

  /** The server under a pseudo-terminal until `until` shows up in its output; then SIGTERM. */
  async function onTerminal(env: NodeJS.ProcessEnv, until: RegExp): Promise<string> {
    const command = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(SERVER_MAIN)}`;
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: tmpdir(),
      env,
      stdio: 'pipe',
    });
    const exited = collect(child, 120_000);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      await eventually(() => Promise.resolve(until.test(output)), {
        timeoutMs: 60_000,
        what: `${until} on the terminal`,
      });
    } finally {
      child.kill('SIGTERM'); // script passes it on to the server
    }
    await exited;
    return output.replace(/\r/g, '');
  }

  it('on a terminal: readable lines, no routes map, then one banner with the URLs and modes', async () => {
    const env = await serverEnv({ PUBLIC_URL: 'http://localhost:4321' });
    const output = await onTerminal(env, /First admin/);

    const lines = output.split('\n').filter((line) => line.trim());
    expect(lines.filter((line) => line.trim().startsWith('{'))).toEqual([]);
    expect(output).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: \[NestApplication\] /m);
    expect(output).not.toMatch(/Mapped \{/);

    expect(output).toContain('Ticketing API is ready');
    const banner = Object.fromEntries(
      BANNER_LABELS.map((label) => {
        const line = lines.find((candidate) => candidate.trim().startsWith(label)) ?? '';
        return [label, line.trim().slice(label.length).trim()];
      }),
    );
    expect(banner).toEqual({
      API: 'http://localhost:4321/api/v1',
      Docs: 'http://localhost:4321/docs',
      Database: expect.stringMatching(/^PostgreSQL at 127\.0\.0\.1:5432\/\S+ \(DATABASE_URL\)$/),
      Locks: expect.stringMatching(/^Redis at 127\.0\.0\.1:6379\/\d+ \(REDIS_URL\)$/),
      Payments: expect.stringContaining('payment simulator'),
      'First admin': expect.stringContaining('npm run cli -- admin grant'),
    });
    // Nothing secret: no password of the database URL, no JWT secret.
    expect(output).not.toContain(String(process.env.JWT_SECRET));
    expect(lines.filter((line) => line.includes('Ticketing API is ready'))).toHaveLength(1);
  });

  it.each([
    [
      'not set',
      {},
      /^STRIPE_SECRET_KEY: is required with DATABASE_URL set, or PAYMENT_SIMULATOR=true/,
    ],
    [
      'auto',
      { PAYMENT_SIMULATOR: 'auto' },
      /^STRIPE_SECRET_KEY: is required with DATABASE_URL set/,
    ],
    [
      'false',
      { PAYMENT_SIMULATOR: 'false' },
      /^STRIPE_SECRET_KEY: is required with PAYMENT_SIMULATOR=false/,
    ],
  ])(
    'with a database, no Stripe key and PAYMENT_SIMULATOR %s: no start, one line naming STRIPE_SECRET_KEY, exit 1',
    async (_setting, simulator: Record<string, string>, line) => {
      const env = await serverEnv(simulator);
      if (!('PAYMENT_SIMULATOR' in simulator)) delete env.PAYMENT_SIMULATOR;
      const child = spawn(process.execPath, [SERVER_MAIN], {
        cwd: tmpdir(),
        env,
        stdio: 'pipe',
      });
      const finished = await collect(child, 60_000);
      expect(finished.code).toBe(1);
      const [heading, ...problems] = finished.stderr.trim().split('\n');
      expect(heading).toMatch(/Invalid configuration/);
      expect(problems).toEqual([expect.stringMatching(line)]);
      expect(finished.stdout).not.toMatch(/simulator|Ready/);
      expect(`${finished.stdout}${finished.stderr}`).not.toContain(String(process.env.JWT_SECRET));
    },
  );

  it('with a database and a Stripe key: Stripe takes the payments, the simulator routes 404', async () => {
    const env = await serverEnv({
      PAYMENT_SIMULATOR: 'false',
      STRIPE_SECRET_KEY: 'sk_test_startup_logs_never_called',
      STRIPE_WEBHOOK_SECRET: 'whsec_startup_logs_never_called',
      STRIPE_API_URL: 'http://127.0.0.1:9',
    });
    const child = spawn(process.execPath, [SERVER_MAIN], { cwd: tmpdir(), env, stdio: 'pipe' });
    const exited = collect(child, 120_000);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      await eventually(() => Promise.resolve(output.includes('"Ready: API at')), {
        timeoutMs: 60_000,
        what: 'the ready line',
      });
      const simulator = await fetch(
        `http://127.0.0.1:${env.PORT}/api/v1/payments/simulator/sim_cs_0123456789abcdef01234567`,
      );
      expect(simulator.status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
    const finished = await exited;
    const ready = finished.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((record) => String(record.msg).startsWith('Ready: API at'));
    expect(ready?.payments).toBe('Stripe');
    expect(finished.stdout).not.toContain('sk_test_startup_logs_never_called');
  });

  it('on a terminal with LOG_FORMAT=json: JSON lines', async () => {
    const output = await onTerminal(await serverEnv({ LOG_FORMAT: 'json' }), /"Ready: API at/);
    const lines = output.split('\n').filter((line) => line.trim());
    for (const line of lines) expect(() => void JSON.parse(line)).not.toThrow();
  });

  it('not on a terminal (a pipe, a log collector): JSON lines, the banner as one of them', async () => {
    const env = await serverEnv();
    const child = spawn(process.execPath, [SERVER_MAIN], { cwd: tmpdir(), env, stdio: 'pipe' });
    const exited = collect(child, 120_000);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      await eventually(() => Promise.resolve(output.includes('"Ready: API at')), {
        timeoutMs: 60_000,
        what: 'the ready line',
      });
    } finally {
      child.kill('SIGTERM');
    }
    const finished = await exited;
    expect(finished.code).toBe(0);
    const records = finished.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const ready = records.filter((record) => String(record.msg).startsWith('Ready: API at'));
    expect(ready).toEqual([
      expect.objectContaining({
        level: 30,
        api: `http://localhost:${env.PORT}/api/v1`,
        docs: `http://localhost:${env.PORT}/docs`,
        database: expect.stringContaining('(DATABASE_URL)'),
        locks: expect.stringContaining('(REDIS_URL)'),
        payments: expect.stringContaining('payment simulator'),
      }),
    ]);
    // Nest's routes map is debug, not in the info log.
    expect(records.filter((record) => String(record.msg).startsWith('Mapped {'))).toEqual([]);
  });
});
