import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import * as argon2 from 'argon2';
import type { Environment } from '@app/config';
import { normalizeEmail } from '@app/common';
import { UsersService, type User } from '@app/users';
import type { LoginDto, RegisterDto, TokenView } from './auth.dto';
import { InvalidCredentialsError } from './auth.errors';
import { FailedLoginLimiter } from './failed-login-limiter';
import { JwtSecret } from './jwt-secret';
import type { AccessTokenClaims } from './access-tokens';

@Injectable()
export class AuthService implements OnModuleInit {
  /** Verified against for unknown emails, so both failures take as long. */
  private dummyHash!: string;

  constructor(
    private readonly users: UsersService,
    private readonly jwt: JwtService,
    private readonly secret: JwtSecret,
    private readonly failedLogins: FailedLoginLimiter,
    private readonly config: ConfigService<Environment, true>,
  ) {}

  async onModuleInit(): Promise<void> {
    this.dummyHash = await argon2.hash('not a real password', { type: argon2.argon2id });
  }

  async register(input: RegisterDto): Promise<User> {
    const passwordHash = await argon2.hash(input.password, { type: argon2.argon2id });
    return this.users.create({
      email: input.email,
      name: input.name,
      phone: input.phone,
      passwordHash,
    });
  }

  async login(input: LoginDto): Promise<TokenView> {
    const email = normalizeEmail(input.email);
    await this.failedLogins.attempt(email);
    const user = await this.users.findByEmail(email);
    const valid = await argon2.verify(user?.passwordHash ?? this.dummyHash, input.password);
    if (!user || !valid) throw new InvalidCredentialsError();
    await this.failedLogins.succeeded(email);
    const expiresIn = this.config.get('JWT_EXPIRES_IN', { infer: true });
    const claims: AccessTokenClaims = { sub: user.id, role: user.role };
    const accessToken = await this.jwt.signAsync(claims, {
      secret: this.secret.value,
      algorithm: 'HS256',
      expiresIn,
    });
    return { accessToken, tokenType: 'Bearer', expiresIn };
  }
}
