import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentUser, Roles, type AuthUser } from '@app/auth';
import { ApiProblems, Public, type Page } from '@app/http';
import { CheckInService } from './check-in.service';
import {
  CheckInDto,
  CheckInListQuery,
  CheckInPage,
  CheckInView,
  IssuedTicketView,
  RevokedCodesView,
  SigningKeysView,
} from './door.dto';
import { ETicketsService } from './e-tickets.service';
import { TicketSigningKeys } from './ticket-signing-keys';

@ApiTags('tickets and the door')
@Controller()
export class DoorController {
  constructor(
    private readonly eTickets: ETicketsService,
    private readonly checkIns: CheckInService,
    private readonly keys: TicketSigningKeys,
  ) {}

  @Get('orders/:id/tickets')
  @ApiBearerAuth()
  @ApiOperation({
    summary: "A confirmed order's tickets with their signed codes",
    description: 'For the buyer or an admin; another buyer gets 404.',
  })
  @ApiOkResponse({ type: [IssuedTicketView] })
  @ApiProblems(400, 401, 404, 409)
  tickets(
    @Param('id', ParseUUIDPipe) orderId: string,
    @CurrentUser() caller: AuthUser,
  ): Promise<IssuedTicketView[]> {
    return this.eTickets.list(orderId, caller);
  }

  @Get('orders/:id/tickets.pdf')
  @ApiBearerAuth()
  @Header('Content-Type', 'application/pdf')
  @ApiOperation({
    summary: "A confirmed order's tickets as a PDF, one page per ticket with its QR code",
    description: "Start times are printed in the server's time zone, which the page names.",
  })
  @ApiProduces('application/pdf')
  @ApiOkResponse({
    content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } },
    description: 'The tickets (attachment)',
  })
  @ApiProblems(400, 401, 404, 409)
  async ticketsPdf(
    @Param('id', ParseUUIDPipe) orderId: string,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const pdf = await this.eTickets.pdf(orderId, caller);
    void reply.header('Content-Disposition', `attachment; filename="tickets-${orderId}.pdf"`);
    return pdf;
  }

  @Get('check-in/keys')
  @Public()
  @ApiOperation({
    summary: 'The public keys that verify ticket codes, for offline scanners',
    description: 'The current signing key and every retired key whose codes still admit.',
  })
  @ApiOkResponse({ type: SigningKeysView })
  @ApiProblems(400)
  async signingKeys(): Promise<SigningKeysView> {
    return { keys: await this.keys.published() };
  }

  @Post('events/:id/check-ins')
  @Roles('staff', 'admin')
  @ApiBearerAuth()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Check a ticket in at the door (admits once)',
    description:
      'A code that does not verify: 404. Already admitted: 409 `check_in.already_checked_in` ' +
      'with the first scan in `detail` and `checkedInAt`. Another event: 409 ' +
      '`check_in.wrong_event`. Refunded or cancelled: 409 `check_in.revoked`.',
  })
  @ApiCreatedResponse({ type: CheckInView })
  @ApiProblems(400, 401, 403, 404, 409)
  checkIn(
    @Param('id', ParseUUIDPipe) eventId: string,
    @Body() body: CheckInDto,
    @CurrentUser() caller: AuthUser,
  ): Promise<CheckInView> {
    return this.checkIns.checkIn(eventId, body.code, caller.id);
  }

  @Get('events/:id/check-ins')
  @Roles('staff', 'admin')
  @ApiBearerAuth()
  @ApiOperation({ summary: "An event's check-ins, newest first" })
  @ApiOkResponse({ type: CheckInPage })
  @ApiProblems(400, 401, 403, 404)
  listCheckIns(
    @Param('id', ParseUUIDPipe) eventId: string,
    @Query() query: CheckInListQuery,
  ): Promise<Page<CheckInView>> {
    return this.checkIns.list(eventId, query);
  }

  @Get('events/:id/check-in/revoked')
  @Roles('staff', 'admin')
  @ApiBearerAuth()
  @ApiOperation({
    summary: "Codes of an event's refunded or cancelled tickets, for offline scanners",
    description:
      'Match them by their signed payload, not their text: after a key rotation one ticket ' +
      'has a code per key.',
  })
  @ApiOkResponse({ type: RevokedCodesView })
  @ApiProblems(400, 401, 403, 404)
  async revoked(@Param('id', ParseUUIDPipe) eventId: string): Promise<RevokedCodesView> {
    return { codes: await this.checkIns.revokedCodes(eventId) };
  }
}
