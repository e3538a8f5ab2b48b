import { type DynamicModule, Module } from '@nestjs/common';
import type { Environment } from '@app/config';
import { OutboxModule } from '@app/outbox';
import { MetricsController } from './metrics.controller';
import { Metrics } from './metrics';
import { SaleMetricsConsumer } from './sale-metrics.consumer';

/**
 * Global so any module may count what it alone knows (the socket gateway its clients).
 * With METRICS_ENABLED=false the counters exist but nothing reads them: no /metrics route
 * and no consumer counting the sale from the stream.
 */
@Module({})
export class MetricsModule {
  static forRoot(environment: Environment): DynamicModule {
    const enabled = environment.METRICS_ENABLED;
    return {
      module: MetricsModule,
      global: true,
      imports: [OutboxModule],
      controllers: enabled ? [MetricsController] : [],
      providers: [Metrics, ...(enabled ? [SaleMetricsConsumer] : [])],
      exports: [Metrics],
    };
  }
}
