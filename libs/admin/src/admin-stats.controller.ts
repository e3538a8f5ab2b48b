import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '@app/auth';
import { ApiProblems } from '@app/http';
import { AdminStatsView } from './admin-stats.dto';
import { AdminStatsService } from './admin-stats.service';

@ApiTags('admin')
@Controller('admin')
export class AdminStatsController {
  constructor(private readonly stats: AdminStatsService) {}

  @Get('stats')
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Sales figures of every current event, and tickets sold per minute' })
  @ApiOkResponse({ type: AdminStatsView })
  @ApiProblems(401, 403)
  get(): Promise<AdminStatsView> {
    return this.stats.stats();
  }
}
