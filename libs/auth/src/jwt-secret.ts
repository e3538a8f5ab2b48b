import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { Environment } from '@app/config';

/**
 * The HMAC key that signs access tokens. Production sets JWT_SECRET (enforced by the
 * configuration schema); local runs get one generated once and kept in DATA_DIR so tokens
 * survive restarts.
 */
export class JwtSecret {
  /** Built once: verifying with a string makes jsonwebtoken try it as a public key first (≈50× slower). */
  readonly key: KeyObject;

  constructor(readonly value: string) {
    this.key = createSecretKey(Buffer.from(value, 'utf8'));
  }

  static fromConfig(config: ConfigService<Environment, true>): JwtSecret {
    const configured = config.get('JWT_SECRET', { infer: true });
    if (configured) return new JwtSecret(configured);
    const dataDir = resolve(config.get('DATA_DIR', { infer: true }));
    const file = join(dataDir, 'jwt-secret');
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
      new Logger('Auth').warn(
        `JWT_SECRET is not set: generated one in ${file} (set it in production)`,
      );
    }
    return new JwtSecret(readFileSync(file, 'utf8').trim());
  }
}
