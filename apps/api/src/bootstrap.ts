import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { TestingModule } from '@nestjs/testing';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply } from 'fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { Environment } from '@app/config';
import { AppModule } from './app.module';
import { logFormat, prettyStream } from './http/log-format';
import { PinoNestLogger } from './http/pino-nest-logger';
import { createOpenApiDocument } from './openapi';
import { ProblemDetailsFilter, sendFrameworkProblem } from './http/problem-details.filter';
import { createValidationPipe } from './http/request-validation';
import { addSecurityHeaders } from './http/security-headers';

const BODY_LIMIT_BYTES = 100 * 1024;
const REQUEST_ID = /^[\w.:-]{1,128}$/;

function createAdapter(environment: Environment): FastifyAdapter {
  return new FastifyAdapter({
    // Structured JSON logs (pino), every request's lines with its reqId; or readable lines.
    logger:
      logFormat(environment) === 'pretty'
        ? { level: environment.LOG_LEVEL, stream: prettyStream() }
        : { level: environment.LOG_LEVEL },
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: environment.TRUST_PROXY,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    frameworkErrors: (error: FastifyError, _request: unknown, reply: FastifyReply) =>
      sendFrameworkProblem(error, reply),
  });
}

/**
 * Everything about the HTTP edge, shared by the server and the tests so that the tests
 * exercise exactly what production runs.
 */
async function configure(
  app: NestFastifyApplication,
  environment: Environment,
): Promise<NestFastifyApplication> {
  const config = app.get(ConfigService<Environment, true>);
  const fastify = app.getHttpAdapter().getInstance();
  app.useLogger(new PinoNestLogger(fastify.log));
  // On SIGTERM/SIGINT: close the server, the pools and the embedded database, then exit 0
  // (process.exit also lets the logger flush; re-raising the signal would not).
  app.enableShutdownHooks([], { useProcessExit: true });
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    done();
  });
  addSecurityHeaders(fastify);
  const origins = config
    .get('CORS_ORIGINS', { infer: true })
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  app.enableCors({ origin: origins.length > 0 ? origins : false });
  app.setGlobalPrefix('api/v1', {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
    ],
  });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());

  const document = createOpenApiDocument(app, environment);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });

  await app.init();
  await fastify.ready();
  return app;
}

/** The production server: the root module built from the validated environment. */
export async function createApp(environment: Environment): Promise<NestFastifyApplication> {
  const adapter = createAdapter(environment);
  // The logger from the start, so a failure to start is logged like everything else.
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(environment),
    adapter,
    { logger: new PinoNestLogger(adapter.getInstance().log), rawBody: true },
  );
  return configure(app, environment);
}

/** For tests: the same app from a compiled testing module (which may override providers). */
export function createAppFromModule(
  moduleRef: TestingModule,
  environment: Environment,
): Promise<NestFastifyApplication> {
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createAdapter(environment), {
    bufferLogs: true,
    rawBody: true,
  });
  return configure(app, environment);
}
