import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import {
  collect,
  ensureBuilt,
  freePort,
  isAlive,
  runCli,
  SERVER_MAIN,
  type Finished,
} from './support/processes';

const EMAIL = 'Embedded.User@Example.com';
const PASSWORD = 'correct horse battery';
const STARTUP_TIMEOUT_MS = 90_000;

interface Server {
  child: ChildProcess;
  exited: Promise<Finished>;
  output: () => string;
}

/**
 * `npm start` with no configuration at all: the built server on an embedded PostgreSQL under
 * DATA_DIR, in-process ticket locks, a generated JWT secret. Spawned with only PATH and HOME
 * besides the three settings that keep it off the developer's ports and folders.
 */
describe('embedded mode (no configuration)', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let base: string;
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    // As root, the embedded PostgreSQL runs as the `postgres` user, who must reach the folder.
    dataDir = mkdtempSync('/tmp/ticketing-embedded-');
    chmodSync(dataDir, 0o755);
    const [port, databasePort] = [await freePort(), await freePort()];
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      EMBEDDED_DATABASE_PORT: String(databasePort),
      DATA_DIR: join(dataDir, 'data'),
    };
    base = `http://127.0.0.1:${port}`;
  }, 180_000);

  afterAll(async () => {
    // Only if a test failed half-way: stop what this suite started.
    for (const child of started) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    const postgresPid = postmasterPid();
    if (postgresPid !== undefined && isAlive(postgresPid)) {
      process.kill(postgresPid, 'SIGINT'); // PostgreSQL's fast shutdown
      for (let i = 0; i < 100 && isAlive(postgresPid); i += 1) {
        await new Promise((resolveWait) => setTimeout(resolveWait, 100));
      }
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  function postmasterPid(): number | undefined {
    const file = join(dataDir, 'data', 'postgres', 'postmaster.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
  }

  function startServer(): Server {
    // cwd is the temporary folder, so no .env of the developer's is read.
    const child = spawn(process.execPath, [SERVER_MAIN], { cwd: dataDir, env, stdio: 'pipe' });
    started.push(child);
    let output = '';
    const exited = collect(child, 10 * 60_000);
    child.stdout?.on('data', (chunk: string) => (output += chunk));
    child.stderr?.on('data', (chunk: string) => (output += chunk));
    return { child, exited, output: () => output };
  }

  /** Polls /health/ready (a bounded loop) until 200; fails at once if the server exits. */
  async function waitUntilReady(server: Server): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let exited = false;
    void server.exited.then(() => (exited = true)).catch(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) throw new Error(`The server exited while starting:\n${server.output()}`);
      const status = await request(base)
        .get('/health/ready')
        .timeout(2000)
        .then((response) => response.status)
        .catch(() => 0);
      if (status === 200) return;
      await new Promise((resolvePoll) => setTimeout(resolvePoll, 200));
    }
    throw new Error(
      `The server was not ready within ${STARTUP_TIMEOUT_MS} ms:\n${server.output()}`,
    );
  }

  async function stop(server: Server): Promise<Finished> {
    const postgresPid = postmasterPid();
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`The server had already exited:\n${server.output()}`);
    }
    if (postgresPid === undefined || !isAlive(postgresPid)) {
      throw new Error(`The embedded PostgreSQL is not running:\n${server.output()}`);
    }
    server.child.kill('SIGTERM');
    const finished = await server.exited;
    expect({ code: finished.code, signal: finished.signal }).toEqual({ code: 0, signal: null });
    // The server stopped the PostgreSQL it started.
    expect(isAlive(postgresPid)).toBe(false);
    expect(existsSync(join(dataDir, 'data', 'postgres', 'postmaster.pid'))).toBe(false);
    return finished;
  }

  let firstToken: string;

  it(
    'starts an embedded PostgreSQL, serves register, login and me, and stops it on SIGTERM',
    async () => {
      const server = startServer();
      await waitUntilReady(server);

      const ready = await request(base).get('/health/ready').expect(200);
      expect(ready.body.info.database).toEqual({ status: 'up' });
      expect(ready.body.info.redis).toEqual(expect.objectContaining({ status: 'up' }));

      const registered = await request(base)
        .post('/api/v1/auth/register')
        .send({ email: EMAIL, password: PASSWORD, name: 'Embedded' })
        .expect(201);
      expect(registered.body).toEqual(
        expect.objectContaining({ email: EMAIL.toLowerCase(), role: 'customer' }),
      );
      const login = await request(base)
        .post('/api/v1/auth/login')
        .send({ email: EMAIL, password: PASSWORD })
        .expect(200);
      firstToken = login.body.accessToken;
      const me = await request(base)
        .get('/api/v1/auth/me')
        .set('Authorization', `Bearer ${firstToken}`)
        .expect(200);
      expect(me.body).toEqual(registered.body);

      // Data and the generated secrets live in DATA_DIR.
      expect(existsSync(join(dataDir, 'data', 'jwt-secret'))).toBe(true);
      expect(existsSync(join(dataDir, 'data', 'postgres', 'PG_VERSION'))).toBe(true);

      const finished = await stop(server);
      expect(finished.stdout).toMatch(/Embedded PostgreSQL stopped/);
    },
    STARTUP_TIMEOUT_MS * 2,
  );

  it(
    'keeps the data across a restart, and the CLI reuses the running embedded database',
    async () => {
      const server = startServer();
      await waitUntilReady(server);
      const postgresPid = postmasterPid();

      const login = await request(base)
        .post('/api/v1/auth/login')
        .send({ email: EMAIL, password: PASSWORD })
        .expect(200);
      // The generated JWT secret was kept too: the first run's token is still good.
      await request(base)
        .get('/api/v1/auth/me')
        .set('Authorization', `Bearer ${firstToken}`)
        .expect(200);

      const granted = await runCli(['admin', 'grant', EMAIL], env, { cwd: dataDir });
      expect(granted).toEqual(
        expect.objectContaining({ code: 0, stdout: `${EMAIL.toLowerCase()} is now an admin.\n` }),
      );

      // The CLI left the server's database running: same process, still answering.
      expect(postmasterPid()).toBe(postgresPid);
      await request(base).get('/health/ready').expect(200);
      const me = await request(base)
        .get('/api/v1/auth/me')
        .set('Authorization', `Bearer ${login.body.accessToken}`)
        .expect(200);
      expect(me.body.role).toBe('admin');

      const listed = await runCli(['admin', 'list'], env, { cwd: dataDir });
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(EMAIL.toLowerCase());

      await stop(server);
    },
    STARTUP_TIMEOUT_MS * 2,
  );
});
