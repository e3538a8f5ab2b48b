import { Global, Module } from '@nestjs/common';
import { OutboxModule } from '@app/outbox';
import { MetricsController } from './metrics.controller';
import { Metrics } from './metrics';
import { SaleMetricsConsumer } from './sale-metrics.consumer';

/** Global so any module may count what it alone knows (the socket gateway its clients). */
@Global()
@Module({
  imports: [OutboxModule],
  controllers: [MetricsController],
  providers: [Metrics, SaleMetricsConsumer],
  exports: [Metrics],
})
export class MetricsModule {}
