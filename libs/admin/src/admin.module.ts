import { Module } from '@nestjs/common';
import { AdminStatsService } from './admin-stats.service';
import { AdminStatsController, DashboardController } from './admin.controller';

@Module({
  controllers: [AdminStatsController, DashboardController],
  providers: [AdminStatsService],
})
export class AdminModule {}
