import {
  Body,
  Controller,
  Get,
  HttpCode,
  Post,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import { ApiProblems } from '@app/common';
import { UsersService } from '@app/users';
import { LoginDto, RegisterDto, TokenView, UserView } from './auth.dto';
import { AuthService } from './auth.service';
import { CurrentUser, Public, type AuthUser } from './auth-user';

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
  @ApiCreatedResponse({ type: UserView })
  @ApiProblems(400, 409, 413, 429)
  async register(@Body() body: RegisterDto): Promise<UserView> {
    return UserView.of(await this.auth.register(body));
  }

  @Public()
  @UseGuards(ThrottlerGuard)
  @Post('login')
  @HttpCode(200)
  @ApiOkResponse({ type: TokenView })
  @ApiProblems(400, 401, 429)
  login(@Body() body: LoginDto): Promise<TokenView> {
    return this.auth.login(body);
  }

  @Get('me')
  @ApiBearerAuth()
  @ApiOkResponse({ type: UserView })
  @ApiProblems(401)
  async me(@CurrentUser() caller: AuthUser): Promise<UserView> {
    const user = await this.users.findById(caller.id);
    if (!user) throw new UnauthorizedException('This account no longer exists.');
    return UserView.of(user);
  }
}
