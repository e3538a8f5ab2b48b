import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { TestingModule } from '@nestjs/testing';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply } from 'fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import type { Environment, TrustProxy } from '@app/config';
import { Metrics } from '@app/metrics';
import { BookingFastPath } from '@app/orders';
import { SocketIoAdapter } from '@app/realtime';
import { AppModule } from './app.module';
import { logFormat, prettyStream } from './http/log-format';
import { logSerializers } from './http/log-serializers';
import { PinoNestLogger } from './http/pino-nest-logger';
import { createOpenApiDocument } from './openapi';
import {
  ProblemDetailsFilter,
  sendClientErrorProblem,
  sendFrameworkProblem,
} from './http/problem-details.filter';
import { useJsonBodyParser } from './http/json-body-parser';
import { createValidationPipe } from './http/request-validation';
import { addSecurityHeaders } from './http/security-headers';
import { refuseUnsafeText } from './http/unsafe-text-guard';

const BODY_LIMIT_BYTES = 100 * 1024;
/**
 * Slow and idle clients must not hold sockets: Fastify turns Node's request timeout and the
 * socket inactivity timeout off by default, so a slowloris client (headers one byte at a
 * time) or thousands of sockets opened and never used would stay for ever. The inactivity
 * timeout must be the shorter one: Node's headers check otherwise keeps a socket that never
 * sent a byte alive. It stays above STRIPE_TIMEOUT_MS's default, the longest call a request
 * waits on, and above the keep-alive timeout that clients are told (`Keep-Alive: timeout=`),
 * so that the server never cuts a kept-alive socket a client is about to reuse.
 */
const KEEP_ALIVE_TIMEOUT_MS = 10_000;
const IDLE_SOCKET_TIMEOUT_MS = 15_000;
const HEADERS_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 30_000;
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Fastify's own reading of a hop count (its types leave numbers out): the first `hops` hops. */
function trustProxy(
  setting: TrustProxy,
): false | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

function createAdapter(environment: Environment): FastifyAdapter {
  return new FastifyAdapter({
    // Structured JSON logs (pino), every request's lines with its reqId; or readable lines.
    // Neither carries a checkout link's token nor the values of a failed query.
    logger:
      logFormat(environment) === 'pretty'
        ? { level: environment.LOG_LEVEL, serializers: logSerializers, stream: prettyStream() }
        : { level: environment.LOG_LEVEL, serializers: logSerializers },
    bodyLimit: BODY_LIMIT_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: IDLE_SOCKET_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Node checks those deadlines every connectionsCheckingInterval (30 s by default).
    http: { headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1_000 },
    trustProxy: trustProxy(environment.TRUST_PROXY),
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    frameworkErrors: (error: FastifyError, _request: unknown, reply: FastifyReply) =>
      sendFrameworkProblem(error, reply),
    clientErrorHandler: sendClientErrorProblem,
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
  const metrics = app.get(Metrics);
  // The route's template (not the URL) keeps the label set small.
  if (config.get('METRICS_ENABLED', { infer: true }))
    fastify.addHook('onResponse', (request, reply, done) => {
      metrics.observeHttp(
        request.method,
        request.routeOptions.url,
        reply.statusCode,
        reply.elapsedTime,
      );
      done();
    });
  const origins = config
    .get('CORS_ORIGINS', { infer: true })
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  // Without origins no browser may call cross-origin: answering that needs no CORS hook, which
  // would run for every request of an on-sale.
  if (origins.length > 0) app.enableCors({ origin: origins });
  app.useWebSocketAdapter(new SocketIoAdapter(app, origins, optionalRedis(app, config)));
  app.setGlobalPrefix('api/v1', {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
      { path: 'admin', method: RequestMethod.GET },
      { path: 'admin/dashboard.js', method: RequestMethod.GET },
      { path: 'admin/dashboard.css', method: RequestMethod.GET },
    ],
  });
  useJsonBodyParser(app, BODY_LIMIT_BYTES);
  refuseUnsafeText(fastify);
  app.useGlobalPipes(createValidationPipe());
  const problems = new ProblemDetailsFilter((error) => {
    if (error.code === 'booking.sold_out') metrics.soldOutAnswers.inc();
  });
  app.useGlobalFilters(problems);
  app
    .get(BookingFastPath)
    .attach(fastify, (error, request, reply) => problems.answer(error, request, reply));

  const document = createOpenApiDocument(app, environment);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });

  await app.init();
  await fastify.ready();
  return app;
}

/**
 * The Redis connection when REDIS_URL is set. Never asked for otherwise: outside the tests,
 * Nest aborts the process when `get` misses, whatever catches it.
 */
function optionalRedis(
  app: NestFastifyApplication,
  config: ConfigService<Environment, true>,
): Redis | undefined {
  return config.get('REDIS_URL', { infer: true })
    ? app.get<Redis>(getRedisConnectionToken(), { strict: false })
    : undefined;
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
