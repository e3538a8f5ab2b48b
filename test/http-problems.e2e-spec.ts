import { startTestApp, type TestApp } from './support/test-app';
import { ProbeModule } from './support/probe.module';

describe('scratch', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_RATE_LIMIT: '0' }, { imports: [ProbeModule] });
  });
  afterAll(() => t.close());
  it('explores', async () => {
    const show = (name: string, r: { status: number; headers: Record<string, string>; body: unknown; text?: string }) =>
      console.log(name, r.status, r.headers['content-type'], r.headers['retry-after'], JSON.stringify(r.body), r.text?.slice(0, 200));
    show('404', await t.http().get('/api/v1/nope'));
    show('413', await t.http().post('/api/v1/auth/register').set('content-type', 'application/json').send(JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(200 * 1024), name: 'x' })));
    show('malformed', await t.http().post('/api/v1/auth/register').set('content-type', 'application/json').send('{"email": '));
    show('empty', await t.http().post('/api/v1/auth/register').set('content-type', 'application/json').send(''));
    show('text', await t.http().post('/api/v1/auth/register').set('content-type', 'text/plain').send('hello'));
    show('xml', await t.http().post('/api/v1/auth/register').set('content-type', 'application/xml').send('<a/>'));
    show('nobody', await t.http().post('/api/v1/auth/register'));
    show('array', await t.http().post('/api/v1/auth/register').send([1, 2]));
    show('null', await t.http().post('/api/v1/auth/register').set('content-type', 'application/json').send('null'));
    show('crash', await t.http().get('/api/v1/probe/crash'));
    show('sql', await t.http().get('/api/v1/probe/sql-crash'));
    show('conflict', await t.http().post('/api/v1/probe/conflict'));
    show('echo', await t.http().post('/api/v1/probe/echo').send({ name: 1, count: '2', x: 1 }));
    show('admin-noauth', await t.http().get('/api/v1/probe/admin'));
    show('bad-uri', await t.http().get('/api/v1/probe/%E0%A4%A'));
    show('health-prefixed', await t.http().get('/api/v1/health/live'));
    show('proto', await t.http().post('/api/v1/probe/echo').set('content-type', 'application/json').send('{"__proto__": {"x": 1}, "name": "a", "count": 1}'));
    const doc = await t.http().get('/docs-json');
    console.log(Object.keys(doc.body.paths), JSON.stringify(doc.body.components.securitySchemes), doc.body.openapi);
    console.log(JSON.stringify(doc.body.paths['/api/v1/auth/me']));
    const docs = await t.http().get('/docs');
    console.log(docs.status, docs.headers['content-type'], docs.text.slice(0, 300));
    expect(1).toBe(1);
  });
});
