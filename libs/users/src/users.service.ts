import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, type Repository } from 'typeorm';
import { User, type Role } from './user.entity';
import { EmailTakenError, UnknownUserError } from './users.errors';

const UNIQUE_VIOLATION = '23505';

export interface NewUser {
  email: string;
  name: string;
  phone?: string | null;
  passwordHash: string;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  async create(input: NewUser): Promise<User> {
    try {
      return await this.users.save(
        this.users.create({
          ...input,
          email: normalizeEmail(input.email),
          phone: input.phone ?? null,
        }),
      );
    } catch (error) {
      if (
        error instanceof QueryFailedError &&
        (error.driverError as { code?: string }).code === UNIQUE_VIOLATION
      ) {
        throw new EmailTakenError();
      }
      throw error;
    }
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findOneBy({ email: normalizeEmail(email) });
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  /**
   * Used by the CLI; takes effect on the user's next request to a guarded route. Granting
   * `staff` leaves an admin an admin: an admin may already do everything staff may.
   */
  async grantRole(email: string, role: Exclude<Role, 'customer'>): Promise<User> {
    const user = await this.findByEmail(email);
    if (!user) throw new UnknownUserError(email);
    if (user.role === role || (role === 'staff' && user.role === 'admin')) return user;
    await this.users.update({ id: user.id }, { role });
    user.role = role;
    return user;
  }

  /** Back to `customer`, only if the user has this role (revoking staff keeps an admin). */
  async revokeRole(email: string, role: Exclude<Role, 'customer'>): Promise<User> {
    const user = await this.findByEmail(email);
    if (!user) throw new UnknownUserError(email);
    if (user.role === role) {
      await this.users.update({ id: user.id, role }, { role: 'customer' });
      user.role = 'customer';
    }
    return user;
  }

  listWithRole(role: Role): Promise<User[]> {
    return this.users.find({ where: { role }, order: { email: 'ASC' } });
  }
}
