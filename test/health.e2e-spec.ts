import { startTestApp, type TestApp } from './support/test-app';

describe('health', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await startTestApp();
  });
  afterAll(() => testApp.close());

  it('is live and ready with PostgreSQL and Redis up', async () => {
    await testApp.http().get('/health/live').expect(200, { status: 'ok' });
    const ready = await testApp.http().get('/health/ready').expect(200);
    expect(ready.body.info).toEqual(
      expect.objectContaining({ database: { status: 'up' }, redis: { status: 'up' } }),
    );
  });
});
