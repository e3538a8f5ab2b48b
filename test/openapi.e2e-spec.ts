import { startTestApp, type TestApp } from './support/test-app';

describe('scratch2', () => {
  it('explores', async () => {
    let t0 = Date.now();
    const t: TestApp = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1/1', AUTH_RATE_LIMIT: '3' });
    console.log('start ms', Date.now() - t0);
    t0 = Date.now();
    const r = await t.http().get('/health/ready');
    console.log('ready', Date.now() - t0, r.status, r.headers['retry-after'], r.headers['content-type'], JSON.stringify(r.body));
    t0 = Date.now();
    const r2 = await t.http().post('/api/v1/auth/login').send({ email: 'a@b.co', password: 'xxxxxxxxx' });
    console.log('login', Date.now() - t0, r2.status, r2.headers['retry-after'], JSON.stringify(r2.body));
    t0 = Date.now();
    await t.close();
    console.log('close ms', Date.now() - t0);
    const u: TestApp = await startTestApp({ TRUST_PROXY: 'true', AUTH_RATE_LIMIT: '3' });
    for (let i = 0; i < 5; i++) {
      const r3 = await u.http().post('/api/v1/auth/login').set('X-Forwarded-For', '203.0.113.77').send({});
      console.log('rl', r3.status, r3.headers['retry-after'], r3.headers['x-ratelimit-remaining'], JSON.stringify(r3.body));
    }
    await u.close();
    expect(1).toBe(1);
  });
});
