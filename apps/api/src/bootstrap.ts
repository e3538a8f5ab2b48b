import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { TestingModule } from '@nestjs/testing';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet from '@fastify/helmet';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { Environment } from '@app/config';
import { AppModule } from './app.module';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { createValidationPipe } from './http/request-validation';

const BODY_LIMIT_BYTES = 100 * 1024;
const REQUEST_ID = /^[\w.:-]{1,128}$/;

function createAdapter(environment: Environment): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: environment.TRUST_PROXY,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
}

/**
 * Everything about the HTTP edge, shared by the server and the tests so that the tests
 * exercise exactly what production runs.
 */
async function configure(app: NestFastifyApplication): Promise<NestFastifyApplication> {
  const config = app.get(ConfigService<Environment, true>);
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    (request.raw as { id?: string }).id = request.id;
    void reply.header('X-Request-Id', request.id);
    done();
  });
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: [`'self'`],
        // Swagger UI and the payment simulator page use inline styles and scripts.
        styleSrc: [`'self'`, `'unsafe-inline'`],
        scriptSrc: [`'self'`, `'unsafe-inline'`],
        imgSrc: [`'self'`, 'data:'],
        formAction: [`'self'`],
      },
    },
  });
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

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Ticketing API')
      .setDescription(
        'Ticket booking for on-sales that must never oversell. Errors are RFC 9457 problem+json.',
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });

  await app.init();
  await fastify.ready();
  return app;
}

/** The production server: the root module built from the validated environment. */
export async function createApp(environment: Environment): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(environment),
    createAdapter(environment),
    { bufferLogs: true, rawBody: true },
  );
  return configure(app);
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
  return configure(app);
}
