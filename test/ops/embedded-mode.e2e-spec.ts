import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { makeClone, removeClone, type Clone } from '../support/clone';
import { eventually } from '../support/eventually';
import { parseMail } from '../support/mime';
import { collect, ensureBuilt, freePort, isAlive, type Finished } from '../support/processes';

const EMAIL = 'Embedded.User@Example.com';
const PASSWORD = 'correct horse battery';
const STARTUP_TIMEOUT_MS = 90_000;
const AS_ROOT = process.getuid?.() === 0;
/** When the suite runs as root, the "ordinary user" runs are made as `nobody`. */
const ORDINARY_USER = AS_ROOT ? { uid: 65534, gid: 65534 } : undefined;

interface Server {
  child: ChildProcess;
  exited: Promise<Finished>;
  output: () => string;
}

/**
 * `npm start` with no configuration at all, from a clone in a private (0700) folder: the
 * built server on an embedded PostgreSQL, in-process ticket locks, a generated JWT secret.
 * Spawned with only PATH and HOME besides the two ports that keep it off the developer's.
 */
class EmbeddedRun {
  readonly env: NodeJS.ProcessEnv;
  readonly base: string;
  private readonly started: ChildProcess[] = [];

  constructor(
    readonly clone: Clone,
    port: number,
    readonly databasePort: number,
    private readonly user?: { uid: number; gid: number },
  ) {
    this.env = {
      PATH: process.env.PATH,
      HOME: clone.folder,
      PORT: String(port),
      EMBEDDED_DATABASE_PORT: String(databasePort),
    };
    this.base = `http://127.0.0.1:${port}`;
  }

  get dataDir(): string {
    return join(this.clone.app, '.data');
  }

  postmasterPid(): number | undefined {
    const file = join(this.dataDir, 'postgres', 'postmaster.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
  }

  private spawnNode(main: string, args: string[] = []): ChildProcess {
    // cwd is the clone, so the data goes to its .data/ and no .env of the developer's is read.
    const child = spawn(process.execPath, [main, ...args], {
      cwd: this.clone.app,
      env: this.env,
      stdio: 'pipe',
      ...this.user,
    });
    this.started.push(child);
    return child;
  }

  startServer(): Server {
    const child = this.spawnNode(this.clone.serverMain);
    let output = '';
    const exited = collect(child, 10 * 60_000);
    child.stdout?.on('data', (chunk: string) => (output += chunk));
    child.stderr?.on('data', (chunk: string) => (output += chunk));
    return { child, exited, output: () => output };
  }

  cli(args: string[]): Promise<Finished> {
    return collect(this.spawnNode(this.clone.cliMain, args), 60_000);
  }

  /** Polls /health/ready (a bounded loop) until 200; fails at once if the server exits. */
  async waitUntilReady(server: Server): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let exited = false;
    void server.exited.then(() => (exited = true)).catch(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) throw new Error(`The server exited while starting:\n${server.output()}`);
      const status = await request(this.base)
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

  /** SIGTERM: exit 0, having stopped the PostgreSQL it started. */
  async stop(server: Server): Promise<Finished> {
    const postgresPid = this.postmasterPid();
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`The server had already exited:\n${server.output()}`);
    }
    if (postgresPid === undefined || !isAlive(postgresPid)) {
      throw new Error(`The embedded PostgreSQL is not running:\n${server.output()}`);
    }
    server.child.kill('SIGTERM');
    const finished = await server.exited;
    expect({ code: finished.code, signal: finished.signal }).toEqual({ code: 0, signal: null });
    expect(isAlive(postgresPid)).toBe(false);
    expect(existsSync(join(this.dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    return finished;
  }

  /** Only if a test failed half-way: stop what this run started, remove the clone. */
  async cleanUp(): Promise<void> {
    for (const child of this.started) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    const postgresPid = this.postmasterPid();
    if (postgresPid !== undefined && isAlive(postgresPid)) {
      process.kill(postgresPid, 'SIGINT'); // PostgreSQL's fast shutdown
      for (let i = 0; i < 100 && isAlive(postgresPid); i += 1) {
        await new Promise((resolveWait) => setTimeout(resolveWait, 100));
      }
    }
    removeClone(this.clone);
  }
}

async function newRun(user?: { uid: number; gid: number }): Promise<EmbeddedRun> {
  return new EmbeddedRun(makeClone(user), await freePort(), await freePort(), user);
}

describe(`embedded mode (no configuration), from a 0700 folder, as ${AS_ROOT ? 'root' : 'this user'}`, () => {
  let run: EmbeddedRun;
  let firstToken: string;

  beforeAll(async () => {
    await ensureBuilt();
    run = await newRun();
    expect(statSync(run.clone.folder).mode & 0o777).toBe(0o700);
  }, 180_000);

  afterAll(() => run?.cleanUp());

  it(
    'starts an embedded PostgreSQL, serves register, login and me, and stops it on SIGTERM',
    async () => {
      const server = run.startServer();
      await run.waitUntilReady(server);

      const ready = await request(run.base).get('/health/ready').expect(200);
      expect(ready.body.info.database).toEqual({ status: 'up' });
      expect(ready.body.info.redis).toEqual(expect.objectContaining({ status: 'up' }));

      const registered = await request(run.base)
        .post('/api/v1/auth/register')
        .send({ email: EMAIL, password: PASSWORD, name: 'Embedded' })
        .expect(201);
      expect(registered.body).toEqual(
        expect.objectContaining({ email: EMAIL.toLowerCase(), role: 'customer' }),
      );
      const login = await request(run.base)
        .post('/api/v1/auth/login')
        .send({ email: EMAIL, password: PASSWORD })
        .expect(200);
      firstToken = login.body.accessToken;
      const me = await request(run.base)
        .get('/api/v1/auth/me')
        .set('Authorization', `Bearer ${firstToken}`)
        .expect(200);
      expect(me.body).toEqual(registered.body);

      // The generated secrets live in DATA_DIR; so does the database, or (as root) a link
      // to its folder, owned by the `postgres` user it runs as.
      expect(existsSync(join(run.dataDir, 'jwt-secret'))).toBe(true);
      expect(existsSync(join(run.dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
      expect(lstatSync(join(run.dataDir, 'postgres')).isSymbolicLink()).toBe(AS_ROOT);
      if (AS_ROOT) expect(statSync(join(run.dataDir, 'postgres')).uid).not.toBe(0);

      const finished = await run.stop(server);
      expect(finished.stdout).toMatch(/Embedded PostgreSQL stopped/);
    },
    STARTUP_TIMEOUT_MS * 2,
  );

  it(
    'keeps the data across a restart, and the CLI reuses the running embedded database',
    async () => {
      const server = run.startServer();
      await run.waitUntilReady(server);
      const postgresPid = run.postmasterPid();

      const login = await request(run.base)
        .post('/api/v1/auth/login')
        .send({ email: EMAIL, password: PASSWORD })
        .expect(200);
      // The generated JWT secret was kept too: the first run's token is still good.
      await request(run.base)
        .get('/api/v1/auth/me')
        .set('Authorization', `Bearer ${firstToken}`)
        .expect(200);

      const granted = await run.cli(['admin', 'grant', EMAIL]);
      expect(granted).toEqual(
        expect.objectContaining({ code: 0, stdout: `${EMAIL.toLowerCase()} is now an admin.\n` }),
      );

      // The CLI left the server's database running: same process, still answering.
      expect(run.postmasterPid()).toBe(postgresPid);
      await request(run.base).get('/health/ready').expect(200);
      const me = await request(run.base)
        .get('/api/v1/auth/me')
        .set('Authorization', `Bearer ${login.body.accessToken}`)
        .expect(200);
      expect(me.body.role).toBe('admin');

      const listed = await run.cli(['admin', 'list']);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(EMAIL.toLowerCase());

      await run.stop(server);
    },
    STARTUP_TIMEOUT_MS * 2,
  );

  it(
    'a buyer pays in the simulator and finds the confirmation, PDF attached, as an .eml under .data/mail',
    async () => {
      const server = run.startServer();
      await run.waitUntilReady(server);
      // A buyer of its own, made an admin to put an event on sale.
      const buyer = 'Embedded.Buyer@Example.com';
      await request(run.base)
        .post('/api/v1/auth/register')
        .send({ email: buyer, password: PASSWORD, name: 'Embedded Buyer' })
        .expect(201);
      expect((await run.cli(['admin', 'grant', buyer])).code).toBe(0);
      const login = await request(run.base)
        .post('/api/v1/auth/login')
        .send({ email: buyer, password: PASSWORD })
        .expect(200);
      const auth = `Bearer ${login.body.accessToken}`;
      const event = await request(run.base)
        .post('/api/v1/events')
        .set('Authorization', auth)
        .send({
          name: 'Embedded Evening',
          venue: 'Local Hall',
          startsAt: new Date(Date.now() + 30 * 24 * 3600_000).toISOString(),
          ticketTypes: [{ name: 'Seat', price: 1500, quantity: 5 }],
        })
        .expect(201);
      const booked = await request(run.base)
        .post(`/api/v1/events/${event.body.id}/bookings`)
        .set('Authorization', auth)
        .send({ ticketTypeId: event.body.ticketTypes[0].id, quantity: 1 })
        .expect(201);
      const { pathname, search } = new URL(booked.body.checkoutUrl as string);
      const checkout = await request(run.base).get(`${pathname}${search}`).redirects(0).expect(303);
      const simulator = new URL(checkout.headers.location).pathname;
      await request(run.base)
        .post(`${simulator}/pay`)
        .set('Content-Type', 'text/plain')
        .send('')
        .redirects(0)
        .expect(303);

      const mailDir = join(run.dataDir, 'mail');
      const emlFiles = () =>
        existsSync(mailDir) ? readdirSync(mailDir).filter((name) => name.endsWith('.eml')) : [];
      const [file] = await eventually(() => Promise.resolve(emlFiles().length > 0 && emlFiles()), {
        what: 'the confirmation .eml',
        timeoutMs: 30_000,
      });
      const mail = parseMail(readFileSync(join(mailDir, file)));
      expect(mail.subject).toBe('Your tickets for Embedded Evening');
      expect(mail.headers.to).toBe('Embedded Buyer <embedded.buyer@example.com>');
      const pdf = mail.leaves.find((part) => part.contentType === 'application/pdf');
      expect(pdf?.body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      expect(server.output()).toMatch(
        /Not sent \(no SMTP_URL\): \\?"Your tickets for Embedded Evening\\?" to embedded\.buyer@example\.com, written to /,
      );

      await run.stop(server);
    },
    STARTUP_TIMEOUT_MS * 2,
  );

  it(
    'says in one line what went wrong and what to do, and exits 1, when the database port is taken',
    async () => {
      // Something else listens on the embedded database's port, on every address.
      const blocker = createServer();
      await new Promise<void>((resolveListen) =>
        blocker.listen(run.databasePort, '::', resolveListen),
      );
      try {
        const server = run.startServer();
        const finished = await server.exited;
        expect(finished.code).toBe(1);
        const problem = server
          .output()
          .split('\n')
          .filter((line) => line.includes('could not start'));
        expect(problem).toHaveLength(1);
        expect(problem[0]).toContain(`Port ${run.databasePort} is taken`);
        expect(problem[0]).toContain('set EMBEDDED_DATABASE_PORT to a free port');
        expect(problem[0]).toContain('DATABASE_URL');
        // No stack, no unhandled error event.
        expect(server.output()).not.toMatch(/\n\s+at |Unhandled|EACCES/);

        const cli = await run.cli(['admin', 'list']);
        expect(cli.code).toBe(1);
        expect(cli.stderr.trim().split('\n')).toEqual([
          expect.stringContaining(`Port ${run.databasePort} is taken`),
        ]);
      } finally {
        await new Promise((resolveClose) => blocker.close(resolveClose));
      }
    },
    STARTUP_TIMEOUT_MS,
  );
});

describe(`embedded mode as an ordinary user${AS_ROOT ? ' (nobody)' : ''}, from a 0700 folder`, () => {
  let run: EmbeddedRun;

  beforeAll(async () => {
    await ensureBuilt();
    run = await newRun(ORDINARY_USER);
  }, 180_000);

  afterAll(() => run?.cleanUp());

  it(
    'runs its PostgreSQL as that user with the data in DATA_DIR, and serves a login',
    async () => {
      const server = run.startServer();
      await run.waitUntilReady(server);

      await request(run.base)
        .post('/api/v1/auth/register')
        .send({ email: EMAIL, password: PASSWORD, name: 'Ordinary' })
        .expect(201);
      await request(run.base)
        .post('/api/v1/auth/login')
        .send({ email: EMAIL, password: PASSWORD })
        .expect(200);

      const databaseDir = join(run.dataDir, 'postgres');
      expect(lstatSync(databaseDir).isDirectory()).toBe(true);
      const expectedUid = ORDINARY_USER?.uid ?? process.getuid?.();
      expect(statSync(join(databaseDir, 'PG_VERSION')).uid).toBe(expectedUid);
      const postgresPid = run.postmasterPid();
      expect(postgresPid).toBeDefined();
      expect(statSync(`/proc/${postgresPid}`).uid).toBe(expectedUid);

      await run.stop(server);
    },
    STARTUP_TIMEOUT_MS * 2,
  );
});
