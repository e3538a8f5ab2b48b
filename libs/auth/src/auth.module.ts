import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import type { Environment } from '@app/config';
import { UsersModule } from '@app/users';
import { AccessTokens } from './access-tokens';
import { AuthController } from './auth.controller';
import { JwtAuthGuard, RolesGuard } from './auth.guards';
import { AuthService } from './auth.service';
import { FailedLoginLimiter } from './failed-login-limiter';
import { JwtSecret } from './jwt-secret';
import { JwtStrategy } from './jwt.strategy';

@Module({
  imports: [
    UsersModule,
    PassportModule,
    JwtModule.register({}),
    ThrottlerModule.forRootAsync({
      inject: [ConfigService, { token: getRedisConnectionToken(), optional: true }],
      useFactory: (config: ConfigService<Environment, true>, redis?: Redis) => {
        const limit = config.get('AUTH_RATE_LIMIT', { infer: true });
        return {
          throttlers: [{ ttl: 60_000, limit: Math.max(limit, 1) }],
          skipIf: () => limit === 0,
          storage: redis ? new ThrottlerStorageRedisService(redis) : undefined,
        };
      },
    }),
  ],
  controllers: [AuthController],
  providers: [
    AccessTokens,
    AuthService,
    FailedLoginLimiter,
    JwtStrategy,
    {
      provide: JwtSecret,
      inject: [ConfigService],
      useFactory: (config: ConfigService<Environment, true>) => JwtSecret.fromConfig(config),
    },
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [AccessTokens, JwtSecret],
})
export class AuthModule {}
