import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, type AuthUser } from '@app/auth';
import { ApiProblems, type Page } from '@app/http';
import {
  JoinWaitlistDto,
  WaitlistEntryView,
  WaitlistListQuery,
  WaitlistPage,
} from './waitlist.dto';
import { WaitlistService } from './waitlist.service';

@ApiTags('waitlist')
@ApiBearerAuth()
@Controller()
export class WaitlistController {
  constructor(private readonly waitlist: WaitlistService) {}

  @Post('events/:id/waitlist')
  @ApiOperation({
    summary: 'Join the waitlist of a sold-out ticket type',
    description:
      'Refused (409) while that many tickets are available, for a cancelled or past event, and ' +
      'when the caller already has an open entry for the type. Released tickets are offered ' +
      'first come, first served.',
  })
  @ApiCreatedResponse({ type: WaitlistEntryView })
  @ApiProblems(400, 401, 404, 409)
  join(
    @Param('id', ParseUUIDPipe) eventId: string,
    @Body() body: JoinWaitlistDto,
    @CurrentUser() caller: AuthUser,
  ): Promise<WaitlistEntryView> {
    return this.waitlist.join(caller.id, eventId, body);
  }

  @Get('waitlist')
  @ApiOperation({ summary: "The caller's waitlist entries, newest first, with queue positions" })
  @ApiOkResponse({ type: WaitlistPage })
  @ApiProblems(400, 401)
  list(
    @Query() query: WaitlistListQuery,
    @CurrentUser() caller: AuthUser,
  ): Promise<Page<WaitlistEntryView>> {
    return this.waitlist.listMine(caller.id, query);
  }

  @Delete('waitlist/:id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Leave the waitlist',
    description:
      'An open offer is given up: its order is cancelled and its tickets go to the next in line.',
  })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 404, 409)
  async leave(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentUser() caller: AuthUser,
  ): Promise<void> {
    await this.waitlist.leave(caller.id, id);
  }
}
