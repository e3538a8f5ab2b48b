import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import request from 'supertest';
import { collect, ensureBuilt, freePort, isAlive, SERVER_MAIN } from '../support/processes';
import { eventually } from '../support/eventually';

/** The built server as production runs it: configuration errors, several processes. */
describe('the server process', () => {
  beforeAll(() => ensureBuilt(), 5 * 60_000);

  const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

  it('refuses to start on invalid configuration, one line per problem, exit 1', async () => {
    const child = spawn(process.execPath, [SERVER_MAIN], {
      // Not the repository: no developer's .env is read.
      cwd: tmpdir(),
      env: { ...baseEnv, PORT: 'eighty', HOLD_SECONDS: '-5', REDIS_URL: 'http://nope' },
      stdio: 'pipe',
    });
    const finished = await collect(child, 30_000);
    expect(finished.code).toBe(1);
    const lines = finished.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/Invalid configuration/);
    expect(
      lines
        .slice(1)
        .map((line) => line.split(':')[0])
        .sort(),
    ).toEqual(['HOLD_SECONDS', 'PORT', 'REDIS_URL']);
  });

  it('never prints a secret or a password in its start-up errors', async () => {
    const secrets = {
      JWT_SECRET: 'too-short-but-still-secret',
      STRIPE_SECRET_KEY: 'sk_live_51NeverPrintThisKey\n',
      STRIPE_WEBHOOK_SECRET: 'whsec_NeverPrintThisEither',
      DATABASE_URL: 'mysql://admin:NeverPrintThisPassword@db.example/tickets',
      SMTP_URL: 'mail://mailer:NeverPrintThisMailPassword@smtp.example',
    };
    const child = spawn(process.execPath, [SERVER_MAIN], {
      cwd: tmpdir(),
      env: { ...baseEnv, ...secrets },
      stdio: 'pipe',
    });
    const finished = await collect(child, 30_000);
    expect(finished.code).toBe(1);
    const output = `${finished.stdout}${finished.stderr}`;
    expect(output).not.toMatch(/NeverPrintThis|too-short-but-still-secret/);
    const lines = finished.stderr.trim().split('\n');
    expect(
      lines
        .slice(1)
        .map((line) => line.split(':')[0])
        .sort(),
    ).toEqual(['DATABASE_URL', 'JWT_SECRET', 'SMTP_URL', 'STRIPE_SECRET_KEY']);
    expect(output).toContain('mysql://admin:***@db.example/tickets');
  });

  it('runs WEB_CONCURRENCY workers on one port and stops them all on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [SERVER_MAIN], {
      cwd: tmpdir(),
      env: {
        ...baseEnv,
        PORT: String(port),
        WEB_CONCURRENCY: '2',
        DATABASE_URL: process.env.DATABASE_URL,
        REDIS_URL: process.env.REDIS_URL,
        JWT_SECRET: process.env.JWT_SECRET,
        PAYMENT_SIMULATOR: 'true',
        LOG_LEVEL: 'warn',
      },
      stdio: 'pipe',
    });
    const exited = collect(child, 120_000);
    const workers = () =>
      readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
    try {
      await eventually(
        async () => {
          expect(workers()).toHaveLength(2);
          await request(`http://127.0.0.1:${port}`).get('/health/ready').expect(200);
          return true;
        },
        { timeoutMs: 60_000, what: 'two workers serving' },
      );
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    const pids = workers();
    child.kill('SIGTERM');
    const finished = await exited;
    expect({ code: finished.code, signal: finished.signal }).toEqual({ code: 0, signal: null });
    pids.forEach((pid) => expect(isAlive(pid)).toBe(false));
  });
});
