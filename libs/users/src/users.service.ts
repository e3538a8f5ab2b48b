import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, type Repository } from 'typeorm';
import { normalizeEmail } from '@app/common';
import { User } from './user.entity';
import { EmailTakenError } from './users.errors';

const UNIQUE_VIOLATION = '23505';

export interface NewUser {
  email: string;
  name: string;
  phone?: string | null;
  passwordHash: string;
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
}
