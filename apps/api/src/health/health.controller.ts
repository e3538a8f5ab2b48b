import { Controller, Get, Optional } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { InjectRedis } from '@nestjs-modules/ioredis';
import type Redis from 'ioredis';
import { DomainError } from '@app/common';
import { ApiProblems, Public } from '@app/http';

const CHECK_TIMEOUT_MS = 1000;

/** A 503 that says which dependency is down (a bare HttpException 5xx would be masked). */
class NotReadyError extends DomainError {
  readonly kind = 'unavailable';
  readonly code = 'health.not_ready';
  override readonly retryAfterSeconds = 5;
}

@ApiTags('operations')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Optional() @InjectRedis() private readonly redis?: Redis,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness', description: 'Answers 200 while the process is up.' })
  @ApiOkResponse({ description: 'The process is up' })
  @ApiProblems(400)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness',
    description: 'Answers 200 when PostgreSQL and (when configured) Redis answer, else 503.',
  })
  @ApiOkResponse({ description: 'PostgreSQL and (when configured) Redis answer' })
  @ApiProblems(400, 503)
  async ready(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.database.pingCheck('database', { timeout: CHECK_TIMEOUT_MS }),
        () => this.redisCheck(),
      ]);
    } catch (error) {
      const down = Object.keys(
        (error as { response?: { error?: object } }).response?.error ?? {},
      ).join(', ');
      throw new NotReadyError(
        down ? `Not ready: ${down} unavailable.` : 'Not ready: a check failed.',
      );
    }
  }

  private async redisCheck() {
    const indicator = this.indicators.check('redis');
    if (!this.redis) return indicator.up({ mode: 'in-process (REDIS_URL not set)' });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS).unref(),
    );
    try {
      await Promise.race([this.redis.ping(), timeout]);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
