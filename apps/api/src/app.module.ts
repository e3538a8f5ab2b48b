import { type DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from '@app/auth';
import { AppConfigModule, type Environment } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventsModule } from '@app/events';
import { OrdersModule } from '@app/orders';
import { RedisModule } from '@app/redis';
import { HealthController } from './health/health.controller';

@Module({})
export class AppModule {
  static forRoot(environment: Environment): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(environment),
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<Environment, true>) => ({
            forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
            pinoHttp: {
              level: config.get('LOG_LEVEL', { infer: true }),
              // Fastify assigns the id (X-Request-Id or a UUID); logs and errors share it.
              genReqId: (req) => req.id,
              redact: ['req.headers.authorization', 'req.headers.cookie'],
              quietReqLogger: true,
            },
          }),
        }),
        DatabaseModule,
        RedisModule.forRoot(environment.REDIS_URL),
        TerminusModule,
        AuthModule,
        EventsModule,
        OrdersModule,
      ],
      controllers: [HealthController],
    };
  }
}
