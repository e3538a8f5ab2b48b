import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect, ROOT } from '../support/processes';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Validates with @apidevtools/swagger-parser in a plain Node process: its dependencies are
 * ES modules, which Jest's CommonJS runtime cannot load.
 */
async function validateOpenApi(document: unknown): Promise<{ valid: boolean; output: string }> {
  const script = `
    let input = '';
    process.stdin.setEncoding('utf8').on('data', (chunk) => (input += chunk)).on('end', () =>
      require('@apidevtools/swagger-parser')
        .validate(JSON.parse(input))
        .then(
          (api) => process.stdout.write('valid OpenAPI ' + api.openapi),
          (error) => { process.stdout.write(error.message); process.exitCode = 1; },
        ),
    );`;
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: 'pipe' });
  child.stdin.end(JSON.stringify(document));
  const { code, stdout, stderr } = await collect(child, 30_000);
  return { valid: code === 0, output: stdout + stderr };
}

interface LintResult {
  totals: { errors: number; warnings: number; ignored: number };
  problems: {
    ruleId: string;
    severity: string;
    message: string;
    location: { pointer: string }[];
  }[];
}

/**
 * `redocly lint` (the pinned @redocly/cli, the repository's redocly.yaml: recommended rules)
 * on a document written to a file, offline: no telemetry, no update check.
 */
async function redoclyLint(document: unknown): Promise<LintResult> {
  const dir = mkdtempSync(join(tmpdir(), 'openapi-lint-'));
  try {
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document, null, 2));
    const child = spawn(
      join(ROOT, 'node_modules', '.bin', 'redocly'),
      ['lint', '--config', join(ROOT, 'redocly.yaml'), '--format', 'json', 'openapi.json'],
      {
        cwd: dir,
        stdio: 'pipe',
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          REDOCLY_TELEMETRY: 'off',
          REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        },
      },
    );
    const { stdout, stderr } = await collect(child, 60_000);
    const json = stdout.slice(stdout.indexOf('{'));
    if (!json) throw new Error(`redocly printed no report:\n${stdout}\n${stderr}`);
    return JSON.parse(json) as LintResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line per problem, so a failing test says what to fix and where. */
const describeProblems = (result: LintResult): string[] =>
  result.problems.map(
    (problem) =>
      `${problem.severity} ${problem.ruleId} at ${problem.location[0]?.pointer}: ${problem.message}`,
  );

interface Operation {
  summary?: string;
  security?: Record<string, string[]>[];
  requestBody?: {
    content: Record<string, { schema: { $ref?: string }; examples?: Record<string, unknown> }>;
  };
  responses: Record<string, { content?: Record<string, unknown> }>;
}

describe('OpenAPI document and Swagger UI', () => {
  let testApp: TestApp;
  let document: {
    openapi: string;
    security?: Record<string, string[]>[];
    servers: { url: string; description?: string }[];
    tags: { name: string; description: string }[];
    paths: Record<string, Record<string, Operation>>;
    components: {
      securitySchemes: Record<string, unknown>;
      schemas: Record<string, { required?: string[]; properties: Record<string, unknown> }>;
    };
  };

  beforeAll(async () => {
    testApp = await startTestApp();
    const response = await testApp.http().get('/docs-json').expect(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    document = response.body;
  });
  afterAll(() => testApp.close());

  it('is a valid OpenAPI 3 document', async () => {
    expect(document.openapi).toMatch(/^3\.\d+\.\d+$/);
    await expect(validateOpenApi(document)).resolves.toEqual({
      valid: true,
      output: `valid OpenAPI ${document.openapi}`,
    });
    // The validator does refuse a broken document (a dangling reference).
    const broken = structuredClone(document);
    broken.paths['/api/v1/auth/me'].get.responses['200'] = {
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Nowhere' } } },
    };
    await expect(validateOpenApi(broken)).resolves.toEqual(
      expect.objectContaining({ valid: false }),
    );
  });

  it('passes `redocly lint` with the recommended rules: no error, no warning', async () => {
    const result = await redoclyLint(document);
    expect(describeProblems(result)).toEqual([]);
    expect(result.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });

    // The linter does catch what it should: an operation without a summary, a public
    // operation that does not say `security: []`, a route with no 4xx answer.
    const broken = structuredClone(document);
    delete broken.paths['/api/v1/auth/me'].get.summary;
    delete broken.paths['/api/v1/auth/login'].post.security;
    broken.security = undefined;
    const ready = broken.paths['/health/ready'].get.responses;
    for (const status of Object.keys(ready)) if (status.startsWith('4')) delete ready[status];
    const rules = (await redoclyLint(broken)).problems.map((problem) => problem.ruleId);
    expect(rules).toEqual(
      expect.arrayContaining(['operation-summary', 'security-defined', 'operation-4xx-response']),
    );
  });

  it('says who may call what: bearer by default, `security: []` on public routes', () => {
    expect(document.security).toEqual([{ bearer: [] }]);
    const publicOperations = [
      document.paths['/api/v1/auth/register'].post,
      document.paths['/api/v1/auth/login'].post,
      document.paths['/api/v1/events'].get,
      document.paths['/health/live'].get,
      document.paths['/api/v1/payments/simulator/{sessionId}/pay'].post,
    ];
    for (const operation of publicOperations) expect(operation.security).toEqual([]);
    expect(document.paths['/api/v1/events'].post.security).toEqual([{ bearer: [] }]);
    expect(document.paths['/api/v1/auth/me'].get.summary).toBe('Who am I');
  });

  it('has examples for the main flows and tags in reading order', () => {
    const json = (operation: Operation, status: string) =>
      (operation.responses[status].content?.['application/json'] ?? {}) as { example?: unknown };
    const register = document.paths['/api/v1/auth/register'].post;
    expect(Object.keys(register.requestBody?.content['application/json'].examples ?? {})).toEqual([
      'ada',
    ]);
    expect(json(register, '201').example).toEqual(
      expect.objectContaining({ email: 'ada@example.com' }),
    );
    expect(json(document.paths['/api/v1/auth/login'].post, '200').example).toEqual(
      expect.objectContaining({ tokenType: 'Bearer' }),
    );
    expect(json(document.paths['/api/v1/events'].post, '201').example).toEqual(
      expect.objectContaining({ status: 'on_sale' }),
    );
    const book = document.paths['/api/v1/events/{id}/bookings'].post;
    expect(Object.keys(book.requestBody?.content['application/json'].examples ?? {})).toEqual([
      'quantity',
      'ticketIds',
    ]);
    expect(json(book, '201').example).toEqual(
      expect.objectContaining({ checkoutUrl: expect.any(String) }),
    );
    expect(json(document.paths['/api/v1/orders/{id}'].get, '200').example).toEqual(
      expect.objectContaining({ status: 'confirmed' }),
    );
    expect(document.tags.slice(0, 5).map((tag) => tag.name)).toEqual([
      'auth',
      'events',
      'booking and orders',
      'payments',
      'operations',
    ]);
  });

  it('names this server, or PUBLIC_URL when it is set', async () => {
    expect(document.servers).toEqual([{ url: '/', description: 'This server' }]);
    const withPublicUrl = await startTestApp({ PUBLIC_URL: 'https://tickets.test/' });
    try {
      const response = await withPublicUrl.http().get('/docs-json').expect(200);
      expect(response.body.servers).toEqual([
        { url: 'https://tickets.test', description: 'This server' },
      ]);
    } finally {
      await withPublicUrl.close();
    }
  });

  it('lists the auth routes, with bearer auth on /me only', () => {
    expect(document.components.securitySchemes.bearer).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    const register = document.paths['/api/v1/auth/register']?.post;
    const login = document.paths['/api/v1/auth/login']?.post;
    const me = document.paths['/api/v1/auth/me']?.get;
    expect(register).toBeDefined();
    expect(login).toBeDefined();
    expect(me).toBeDefined();

    expect(me.security).toEqual([{ bearer: [] }]);
    expect(register.security ?? []).toEqual([]);
    expect(login.security ?? []).toEqual([]);

    expect(Object.keys(register.responses)).toEqual(expect.arrayContaining(['201', '400', '409']));
    expect(Object.keys(login.responses)).toEqual(expect.arrayContaining(['200', '401', '429']));
    expect(Object.keys(me.responses)).toEqual(expect.arrayContaining(['200', '401']));
  });

  it('describes the request bodies and the User without a password hash', () => {
    const body = document.paths['/api/v1/auth/register'].post.requestBody;
    const ref = body?.content['application/json'].schema.$ref ?? '';
    const registerSchema = document.components.schemas[ref.split('/').pop() ?? ''];
    expect(registerSchema.required).toEqual(expect.arrayContaining(['email', 'password', 'name']));
    expect(registerSchema.required).not.toContain('phone');

    const user = document.components.schemas.UserView;
    expect(Object.keys(user.properties).sort()).toEqual([
      'createdAt',
      'email',
      'id',
      'name',
      'phone',
      'role',
    ]);
  });

  it('documents errors as application/problem+json', () => {
    const unauthorized = document.paths['/api/v1/auth/me'].get.responses['401'];
    expect(Object.keys(unauthorized.content ?? {})).toEqual(['application/problem+json']);
    expect(document.components.schemas.ProblemDetailsView.required).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail']),
    );
  });

  it('documents the ticket and door routes with summaries, roles and answers', () => {
    const routes: [string, string, string[], boolean][] = [
      ['/api/v1/orders/{id}/tickets', 'get', ['200', '401', '404', '409'], true],
      ['/api/v1/orders/{id}/tickets.pdf', 'get', ['200', '401', '404', '409'], true],
      ['/api/v1/check-in/keys', 'get', ['200'], false],
      ['/api/v1/events/{id}/check-ins', 'post', ['201', '400', '401', '403', '404', '409'], true],
      ['/api/v1/events/{id}/check-ins', 'get', ['200', '400', '401', '403', '404'], true],
      ['/api/v1/events/{id}/check-in/revoked', 'get', ['200', '401', '403', '404'], true],
    ];
    for (const [path, method, statuses, bearer] of routes) {
      const operation = document.paths[path]?.[method];
      expect(operation).toBeDefined();
      expect(operation.summary).toEqual(expect.any(String));
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(statuses));
      expect(operation.security ?? []).toEqual(bearer ? [{ bearer: [] }] : []);
    }
    const pdf = document.paths['/api/v1/orders/{id}/tickets.pdf'].get.responses['200'];
    expect(Object.keys(pdf.content ?? {})).toEqual(['application/pdf']);
    expect(Object.keys(document.components.schemas.CheckInView.properties).sort()).toEqual([
      'by',
      'checkedInAt',
      'label',
      'orderId',
      'ticketId',
      'ticketTypeName',
    ]);
    expect(Object.keys(document.components.schemas.IssuedTicketView.properties).sort()).toEqual([
      'checkedInAt',
      'code',
      'id',
      'label',
      'ticketTypeId',
      'ticketTypeName',
    ]);
  });

  it('lists the health routes outside the API prefix', () => {
    expect(document.paths['/health/live']?.get).toBeDefined();
    expect(document.paths['/health/ready']?.get).toBeDefined();
  });

  it('serves Swagger UI as HTML at /docs', async () => {
    const response = await testApp.http().get('/docs').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.text).toMatch(/swagger-ui/i);
  });
});
