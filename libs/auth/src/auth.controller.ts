import {
  Body,
  Controller,
  Get,
  HttpCode,
  Post,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import { ApiProblems, Public } from '@app/http';
import { UsersService } from '@app/users';
import { LoginDto, RegisterDto, TokenView, UserView } from './auth.dto';
import { AuthService } from './auth.service';
import { CurrentUser, type AuthUser } from './auth-user';
import { LOGIN_EXAMPLE, REGISTER_EXAMPLE, TOKEN_EXAMPLE, USER_EXAMPLE } from './auth.examples';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Public()
  @UseGuards(ThrottlerGuard)
  @Post('register')
  @ApiOperation({
    summary: 'Create an account',
    description:
      'Registers a customer. The email is stored lower-cased and must be new (409 otherwise). Rate limited per client IP.',
  })
  @ApiBody({ type: RegisterDto, examples: { ada: { value: REGISTER_EXAMPLE } } })
  @ApiCreatedResponse({ type: UserView, example: USER_EXAMPLE })
  @ApiProblems(400, 409, 413, 429)
  async register(@Body() body: RegisterDto): Promise<UserView> {
    return UserView.of(await this.auth.register(body));
  }

  @Public()
  @UseGuards(ThrottlerGuard)
  @Post('login')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Log in',
    description:
      'Exchanges an email and password for a bearer access token. A wrong email or password gives the same 401; failed logins are limited per email and per IP.',
  })
  @ApiBody({ type: LoginDto, examples: { ada: { value: LOGIN_EXAMPLE } } })
  @ApiOkResponse({ type: TokenView, example: TOKEN_EXAMPLE })
  @ApiProblems(400, 401, 429)
  login(@Body() body: LoginDto): Promise<TokenView> {
    return this.auth.login(body);
  }

  @Get('me')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Who am I', description: 'The account the bearer token belongs to.' })
  @ApiOkResponse({ type: UserView, example: USER_EXAMPLE })
  @ApiProblems(401)
  async me(@CurrentUser() caller: AuthUser): Promise<UserView> {
    const user = await this.users.findById(caller.id);
    if (!user) throw new UnauthorizedException('This account no longer exists.');
    return UserView.of(user);
  }
}
