import { spawn } from 'node:child_process';
import { collect, ROOT } from './support/processes';
import { startTestApp, type TestApp } from './support/test-app';

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

interface Operation {
  summary?: string;
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
  responses: Record<string, { content?: Record<string, unknown> }>;
}

describe('OpenAPI document and Swagger UI', () => {
  let testApp: TestApp;
  let document: {
    openapi: string;
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
