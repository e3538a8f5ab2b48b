import { Module } from '@nestjs/common';
import { AdminStatsController } from './admin-stats.controller';
import { AdminStatsService } from './admin-stats.service';
import { DashboardController } from './dashboard.controller';

@Module({
  controllers: [AdminStatsController, DashboardController],
  providers: [AdminStatsService],
})
export class AdminModule {}
