import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { ProbeModule } from '../support/probe.module';
import { CLI_MAIN, collect, ensureBuilt, ROOT, runCli } from '../support/processes';
import {
  createUser,
  expectProblem,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/test-app';

/** The built admin CLI as a real process, on the test database (DATABASE_URL from env.ts). */
describe('admin CLI', () => {
  let testApp: TestApp;
  let user: TestUser;
  const cli = (...args: string[]) => runCli(args, { ...process.env });

  beforeAll(async () => {
    await ensureBuilt();
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0' }, { imports: [ProbeModule] });
    user = await createUser(testApp);
  }, 180_000);
  afterAll(() => testApp?.close());

  const role = async (id: string): Promise<string> => {
    const [row]: { role: string }[] = await testApp.dataSource.query(
      'SELECT role FROM users WHERE id = $1',
      [id],
    );
    return row.role;
  };
  const adminRoute = (token: string) =>
    testApp.http().get('/api/v1/probe/admin').set('Authorization', `Bearer ${token}`);

  it('grants, lists and revokes the admin role (the email in any letter case)', async () => {
    expectProblem(await adminRoute(user.token), 403);

    const granted = await cli('admin', 'grant', user.email.toUpperCase());
    expect(granted).toEqual(
      expect.objectContaining({ code: 0, stdout: `${user.email} is now an admin.\n`, stderr: '' }),
    );
    expect(await role(user.id)).toBe('admin');
    // The token the user already holds now reaches admin routes.
    await adminRoute(user.token).expect(200);

    // Granting twice is harmless.
    expect((await cli('admin', 'grant', user.email)).code).toBe(0);

    const listed = await cli('admin', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^\d+ admin\(s\)/);
    const [name] = await testApp.dataSource.query('SELECT name FROM users WHERE id = $1', [
      user.id,
    ]);
    expect(listed.stdout.split('\n')).toContain(`${user.email}\t${name.name}`);

    const revoked = await cli('admin', 'revoke', user.email);
    expect(revoked).toEqual(
      expect.objectContaining({
        code: 0,
        stdout: `${user.email} is no longer an admin.\n`,
        stderr: '',
      }),
    );
    expect(await role(user.id)).toBe('customer');
    expectProblem(await adminRoute(user.token), 403);

    const after = await cli('admin', 'list');
    expect(after.code).toBe(0);
    expect(after.stdout).not.toContain(user.email);
  });

  it('grants, lists and revokes the staff role, which opens door routes only', async () => {
    const doorman = await createUser(testApp);
    const doorRoute = (token: string) =>
      testApp.http().get('/api/v1/probe/door').set('Authorization', `Bearer ${token}`);
    expectProblem(await doorRoute(doorman.token), 403);

    const granted = await cli('staff', 'grant', doorman.email.toUpperCase());
    expect(granted).toEqual(
      expect.objectContaining({
        code: 0,
        stdout: `${doorman.email} is now door staff.\n`,
        stderr: '',
      }),
    );
    expect(await role(doorman.id)).toBe('staff');
    await doorRoute(doorman.token).expect(200);
    expectProblem(await adminRoute(doorman.token), 403);

    const listed = await cli('staff', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^\d+ staff member\(s\)/);
    const [{ name }] = await testApp.dataSource.query('SELECT name FROM users WHERE id = $1', [
      doorman.id,
    ]);
    expect(listed.stdout.split('\n')).toContain(`${doorman.email}\t${name}`);
    expect((await cli('admin', 'list')).stdout).not.toContain(doorman.email);

    const revoked = await cli('staff', 'revoke', doorman.email);
    expect(revoked).toEqual(
      expect.objectContaining({
        code: 0,
        stdout: `${doorman.email} is no longer door staff.\n`,
        stderr: '',
      }),
    );
    expect(await role(doorman.id)).toBe('customer');
    expectProblem(await doorRoute(doorman.token), 403);
    expect((await cli('staff', 'list')).stdout).not.toContain(doorman.email);
  });

  it('never demotes an admin through the staff commands', async () => {
    const boss = await createUser(testApp, { admin: true });
    const granted = await cli('staff', 'grant', boss.email);
    expect(granted).toEqual(
      expect.objectContaining({
        code: 0,
        stdout: `${boss.email} is an admin, which includes door staff.\n`,
      }),
    );
    expect(await role(boss.id)).toBe('admin');
    expect((await cli('staff', 'revoke', boss.email)).code).toBe(0);
    expect(await role(boss.id)).toBe('admin');
    // An admin passes door routes too.
    await testApp
      .http()
      .get('/api/v1/probe/door')
      .set('Authorization', `Bearer ${boss.token}`)
      .expect(200);
  });

  it('fails with exit 1 and a one-line message on stderr for an unknown email', async () => {
    const email = `nobody-${randomUUID()}@example.com`;
    for (const [group, command] of [
      ['admin', 'grant'],
      ['admin', 'revoke'],
      ['staff', 'grant'],
      ['staff', 'revoke'],
    ]) {
      const result = await cli(group, command, email);
      expect(result).toEqual({
        code: 1,
        signal: null,
        stdout: '',
        stderr: `No user has the email address ${email}.\n`,
      });
    }
  });

  it('fails with exit 1 on an unknown subcommand or a missing argument', async () => {
    const unknown = await cli('admin', 'frobnicate');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown admin command: frobnicate');

    const missing = await cli('admin', 'grant');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/missing required argument 'email'/);

    const unknownStaff = await cli('staff', 'frobnicate');
    expect(unknownStaff.code).toBe(1);
    expect(unknownStaff.stderr).toContain('Unknown staff command: frobnicate');
    expect((await cli('staff', 'revoke')).stderr).toMatch(/missing required argument 'email'/);

    const topLevel = await cli('frobnicate');
    expect(topLevel.code).toBe(1);
    expect(topLevel.stderr.match(/unknown command 'frobnicate'/g)).toHaveLength(1);
  });

  it('prints help with exit 0 on --help', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/admin/);
    expect(help.stdout).toMatch(/staff/);
    expect(help.stderr).toBe('');
  });

  it('creates the schema first on a database no server has started on', async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `${url.pathname}_cli_fresh`;
    const admin = new Client({
      connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString(),
    });
    await admin.connect();
    const name = url.pathname.slice(1);
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.query(`CREATE DATABASE "${name}"`);
      const listed = await runCli(['admin', 'list'], {
        ...process.env,
        DATABASE_URL: url.toString(),
      });
      expect(listed).toMatchObject({ code: 0, stdout: '0 admin(s).\n' });
      const fresh = new Client({ connectionString: url.toString() });
      await fresh.connect();
      const { rows } = await fresh.query<{ users: string | null }>(
        `SELECT to_regclass('public.users')::text AS users`,
      );
      await fresh.end();
      expect(rows).toEqual([{ users: 'users' }]);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.end();
    }
  });

  it('refuses an invalid configuration with exit 1, one line per problem', async () => {
    const result = await runCli(['admin', 'list'], {
      ...process.env,
      DATABASE_URL: 'mysql://somewhere/else',
      JWT_SECRET: 'short',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Invalid configuration:\n/);
    expect(result.stderr).toMatch(/^DATABASE_URL: .*postgres/m);
    expect(result.stderr).toMatch(/^JWT_SECRET: .*32 characters/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('`npm run cli` runs the build as it is when it is current: no TypeScript build', async () => {
    const buildInfo = join(ROOT, 'dist', '.tsbuildinfo');
    const before = [statSync(buildInfo).mtimeMs, statSync(CLI_MAIN).mtimeMs];
    const child = spawn('npm', ['run', '--silent', 'cli', '--', 'admin', 'grant', user.email], {
      cwd: ROOT,
      env: { ...process.env },
      stdio: 'pipe',
    });
    const result = await collect(child, 60_000);
    expect(result).toEqual(
      expect.objectContaining({ code: 0, stdout: `${user.email} is now an admin.\n` }),
    );
    expect([statSync(buildInfo).mtimeMs, statSync(CLI_MAIN).mtimeMs]).toEqual(before);
  });

  it('rebuilds first when a source or build setting is newer than the build', () => {
    const { isStale } = jest.requireActual<{ isStale: (root: string) => boolean }>(
      '../../scripts/build-if-stale.js',
    );
    const root = mkdtempSync(join(tmpdir(), 'stale-build-'));
    try {
      const files = [
        'dist/.tsbuildinfo',
        'dist/apps/api/src/main.js',
        'dist/apps/cli/src/main.js',
        'libs/users/src/users.service.ts',
        'libs/users/src/users.service.spec.ts',
        'package.json',
        'tsconfig.json',
        'tsconfig.build.json',
      ];
      for (const file of files) {
        mkdirSync(dirname(join(root, file)), { recursive: true });
        writeFileSync(join(root, file), '');
      }
      const at = (file: string, seconds: number) => utimesSync(join(root, file), seconds, seconds);
      files.forEach((file) => at(file, 1_000));
      at('dist/.tsbuildinfo', 2_000);
      expect(isStale(root)).toBe(false);
      at('libs/users/src/users.service.spec.ts', 3_000); // tests are not built
      expect(isStale(root)).toBe(false);
      at('libs/users/src/users.service.ts', 3_000);
      expect(isStale(root)).toBe(true);
      at('libs/users/src/users.service.ts', 1_000);
      at('tsconfig.build.json', 3_000);
      expect(isStale(root)).toBe(true);
      at('tsconfig.build.json', 1_000);
      rmSync(join(root, 'dist/apps/cli/src/main.js'));
      expect(isStale(root)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
