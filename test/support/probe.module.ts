import { Body, Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { IsInt, IsString, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { Roles } from '@app/auth';
import { DomainError } from '@app/common';
import { Public } from '@app/http';

/** Written so that it must never reach a client. */
export const PROBE_SECRET = 'probe-internal-secret-8f3a';

class ProbeConflictError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'probe.conflict';
  constructor() {
    super('The probe is in a state that does not allow this.');
  }
}

class ProbeBody {
  @IsString()
  name!: string;

  @IsInt()
  @Min(1)
  count!: number;
}

/**
 * Test-only routes under /api/v1/probe that exercise the guards and the error filter the
 * way a domain module would: an admin route, a customer route, a domain conflict, a
 * validated body and failures the server does not expect.
 */
@Controller('probe')
export class ProbeController {
  constructor(private readonly dataSource: DataSource) {}

  @Roles('admin')
  @Get('admin')
  admin(): { ok: true } {
    return { ok: true };
  }

  /** Door staff, or an admin (either role passes). */
  @Roles('staff', 'admin')
  @Get('door')
  door(): { ok: true } {
    return { ok: true };
  }

  /** Any signed-in user (the global JWT guard, no role needed). */
  @Get('signed-in')
  signedIn(): { ok: true } {
    return { ok: true };
  }

  @Public()
  @Post('conflict')
  @HttpCode(200)
  conflict(): never {
    throw new ProbeConflictError();
  }

  @Public()
  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: ProbeBody): ProbeBody {
    return body;
  }

  @Public()
  @Get('crash')
  crash(): never {
    throw new Error(`Unexpected failure: ${PROBE_SECRET}`);
  }

  @Public()
  @Get('sql-crash')
  async sqlCrash(): Promise<never> {
    await this.dataSource.query(`SELECT * FROM "${PROBE_SECRET}"`);
    throw new Error('unreachable');
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
