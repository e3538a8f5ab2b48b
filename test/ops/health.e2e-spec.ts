import { expectProblem, startTestApp, type TestApp } from '../support/test-app';

describe('health', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await startTestApp();
  });
  afterAll(() => testApp.close());

  it('is live and ready with PostgreSQL and Redis up', async () => {
    await testApp.http().get('/health/live').expect(200, { status: 'ok' });
    const ready = await testApp.http().get('/health/ready').expect(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.info).toEqual(
      expect.objectContaining({ database: { status: 'up' }, redis: { status: 'up' } }),
    );
  });

  it('needs no token and lives outside the API prefix', async () => {
    await testApp.http().get('/health/ready').set('Authorization', 'Bearer junk').expect(200);
    expectProblem(await testApp.http().get('/api/v1/health/ready'), 404);
  });
});

describe('health with Redis configured but unreachable', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    // Nothing listens on port 1.
    testApp = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1/1' });
  });
  afterAll(() => testApp?.close());

  it('is not ready: 503 problem naming Redis, answered at once', async () => {
    const started = Date.now();
    const response = await testApp.http().get('/health/ready');
    expect(Date.now() - started).toBeLessThan(2000);
    const problem = expectProblem(response, 503);
    expect(problem.detail).toMatch(/redis/i);
    expect(problem.detail).not.toMatch(/database/i);
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('is still live', async () => {
    await testApp.http().get('/health/live').expect(200, { status: 'ok' });
  });

  it('answers Redis-backed routes with 503 instead of hanging', async () => {
    const started = Date.now();
    const response = await testApp
      .http()
      .post('/api/v1/auth/login')
      .send({ email: 'someone@example.com', password: 'whatever it is' });
    expect(Date.now() - started).toBeLessThan(2000);
    expectProblem(response, 503);
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  });
});
