import { Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { normalizeEmail } from '@app/common';
import { UnknownUserError } from './cli.errors';

export type GrantedRole = 'admin' | 'staff';

export interface RoleHolder {
  email: string;
  name: string;
  role: 'customer' | GrantedRole;
}

/** The CLI's queries on users: roles only. A change applies to the user's next request. */
@Injectable()
export class UserRoles {
  constructor(private readonly pool: Pool) {}

  /** Granting `staff` leaves an admin an admin: an admin may already do everything staff may. */
  async grant(email: string, role: GrantedRole): Promise<RoleHolder> {
    const user = await this.find(email);
    if (user.role === role || (role === 'staff' && user.role === 'admin')) return user;
    await this.pool.query(`UPDATE users SET role = $2, updated_at = now() WHERE email = $1`, [
      user.email,
      role,
    ]);
    return { ...user, role };
  }

  /** Back to `customer`, only if the user has this role (revoking staff keeps an admin). */
  async revoke(email: string, role: GrantedRole): Promise<RoleHolder> {
    const user = await this.find(email);
    if (user.role !== role) return user;
    await this.pool.query(
      `UPDATE users SET role = 'customer', updated_at = now() WHERE email = $1 AND role = $2`,
      [user.email, role],
    );
    return { ...user, role: 'customer' };
  }

  async list(role: GrantedRole): Promise<RoleHolder[]> {
    const { rows } = await this.pool.query<RoleHolder>(
      `SELECT email, name, role FROM users WHERE role = $1 ORDER BY email`,
      [role],
    );
    return rows;
  }

  private async find(email: string): Promise<RoleHolder> {
    const { rows } = await this.pool.query<RoleHolder>(
      `SELECT email, name, role FROM users WHERE email = $1`,
      [normalizeEmail(email)],
    );
    if (rows.length === 0) throw new UnknownUserError(email);
    return rows[0];
  }
}
