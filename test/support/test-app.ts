import type { ModuleMetadata } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { loadEnvironment, type Environment } from '@app/config';
import { AppModule } from '../../apps/api/src/app.module';
import { createAppFromModule } from '../../apps/api/src/bootstrap';

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  /** Supertest agent factory bound to the app's HTTP server. */
  http: () => ReturnType<typeof request>;
  dataSource: DataSource;
  environment: Environment;
  close: () => Promise<void>;
}

/** The real app (real PostgreSQL and Redis from test/support/env.ts) with overrides. */
export async function startTestApp(
  overrides: Record<string, string> = {},
  {
    imports = [],
    customize = (builder) => builder,
  }: {
    /** Extra (test-only) modules, e.g. a controller that exercises a guard. */
    imports?: ModuleMetadata['imports'];
    customize?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  } = {},
): Promise<TestApp> {
  const environment = loadEnvironment(overrides, { readEnvFile: false });
  const moduleRef = await customize(
    Test.createTestingModule({ imports: [AppModule.forRoot(environment), ...imports] }),
  ).compile();
  const app = await createAppFromModule(moduleRef, environment);
  // A real listening socket, so parallel requests race as they would in production.
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = await app.getUrl();
  return {
    app,
    url,
    http: () => request(url),
    dataSource: app.get(DataSource),
    environment,
    close: () => app.close(),
  };
}

/** Empties every table (not the migrations bookkeeping) between suites. */
export async function resetDatabase(dataSource: DataSource): Promise<void> {
  const tables: { tablename: string }[] = await dataSource.query(
    `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`,
  );
  if (tables.length === 0) return;
  await dataSource.query(`TRUNCATE ${tables.map((t) => `"${t.tablename}"`).join(', ')} CASCADE`);
}

let userCounter = 0;

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

/** Registers and logs in a fresh user; `admin` promotes it directly in the database. */
export async function createUser(
  testApp: TestApp,
  {
    admin = false,
    password = 'correct horse battery',
  }: { admin?: boolean; password?: string } = {},
): Promise<TestUser> {
  userCounter += 1;
  const email = `user${userCounter}-${Date.now()}@example.com`;
  const registered = await testApp
    .http()
    .post('/api/v1/auth/register')
    .send({ email, password, name: `User ${userCounter}` })
    .expect(201);
  if (admin) {
    await testApp.dataSource.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [
      registered.body.id,
    ]);
  }
  const login = await testApp
    .http()
    .post('/api/v1/auth/login')
    .send({ email, password })
    .expect(200);
  return { id: registered.body.id, email, token: login.body.accessToken };
}

/** Asserts the RFC 9457 shape and returns the body. */
export function expectProblem(
  response: { status: number; headers: Record<string, string>; body: Record<string, unknown> },
  status: number,
): Record<string, unknown> {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
    }),
  );
  expect(JSON.stringify(response.body)).not.toMatch(
    /stack|at .*\.ts:|QueryFailedError|SELECT |INSERT /,
  );
  return response.body;
}
