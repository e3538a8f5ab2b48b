import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Header } from '@nestjs/common';
import {
  ApiExcludeEndpoint,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { ApiProblems, Public } from '@app/http';

/** The page's files, copied next to the build by `npm run build` (libs/admin/assets). */
const ASSETS = join(__dirname, '..', 'assets');

/**
 * GET /admin: the live sales dashboard. Plain files, no build step; the page itself is
 * public, its data needs an admin login (the token lives in sessionStorage only). Scripts and
 * styles are files of this origin, so the page runs under the app's CSP unchanged.
 */
@ApiTags('admin')
@Controller('admin')
@Public()
export class DashboardController {
  private readonly page = readFileSync(join(ASSETS, 'dashboard.html'), 'utf8');
  private readonly script = readFileSync(join(ASSETS, 'dashboard.js'), 'utf8');
  private readonly styles = readFileSync(join(ASSETS, 'dashboard.css'), 'utf8');

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({
    summary: 'The live sales dashboard (an HTML page; its data needs an admin login)',
  })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The dashboard page', schema: { type: 'string' } })
  @ApiProblems(400)
  dashboard(): string {
    return this.page;
  }

  @Get('dashboard.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  // The page's own files, not operations of the API.
  @ApiExcludeEndpoint()
  dashboardScript(): string {
    return this.script;
  }

  @Get('dashboard.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  @ApiExcludeEndpoint()
  dashboardStyles(): string {
    return this.styles;
  }
}
