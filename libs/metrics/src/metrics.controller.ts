import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Header, Headers } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { ApiProblems, Public } from '@app/http';
import type { Environment } from '@app/config';
import { Metrics } from './metrics';
import { MetricsTokenRequiredError } from './metrics.errors';

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  private readonly tokenDigest?: Buffer;

  constructor(
    private readonly metrics: Metrics,
    config: ConfigService<Environment, true>,
  ) {
    const token = config.get('METRICS_TOKEN', { infer: true });
    this.tokenDigest = token ? digest(token) : undefined;
  }

  @Get()
  @Public()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prometheus metrics: process, HTTP and the sale (bearer METRICS_TOKEN when set)',
  })
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({ description: 'Prometheus text exposition format', schema: { type: 'string' } })
  @ApiProblems(401)
  async scrape(@Headers('authorization') authorization?: string): Promise<string> {
    if (this.tokenDigest) {
      const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
      // Compared as digests: equal lengths, constant time.
      if (!given || !timingSafeEqual(digest(given), this.tokenDigest))
        throw new MetricsTokenRequiredError();
    }
    return this.metrics.registry.metrics();
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
