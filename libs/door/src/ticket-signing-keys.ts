import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import {
  type Environment,
  parseEd25519PrivateKey,
  parseEd25519PublicKey,
  rawEd25519PublicKey,
} from '@app/config';
import {
  decodeCode,
  encodeCode,
  KEY_ID_BYTES,
  signedBytes,
  type TicketClaims,
} from './ticket-code';

interface VerifyingKey {
  id: string;
  publicKey: KeyObject;
  raw: Buffer;
}

export interface PublishedKey {
  id: string;
  algorithm: 'Ed25519';
  publicKey: string;
  createdAt: Date;
}

/** A key's id: the first bytes of the SHA-256 of its raw public key, so ids need no registry. */
function keyIdOf(raw: Buffer): string {
  return createHash('sha256').update(raw).digest().subarray(0, KEY_ID_BYTES).toString('base64url');
}

function verifyingKey(publicKey: KeyObject): VerifyingKey {
  const raw = rawEd25519PublicKey(publicKey);
  return { id: keyIdOf(raw), publicKey, raw };
}

/**
 * The Ed25519 keys of e-ticket codes: the current one signs (TICKET_SIGNING_KEY, or one
 * generated once into DATA_DIR outside production), retired ones
 * (TICKET_SIGNING_KEYS_RETIRED) still verify. All of them are published for offline
 * scanners. Ed25519 signatures are deterministic, so a ticket's code is recomputed whenever
 * it is read instead of being stored.
 */
@Injectable()
export class TicketSigningKeys implements OnApplicationBootstrap {
  private readonly signingKey: KeyObject;
  private readonly current: VerifyingKey;
  private readonly byId: Map<string, VerifyingKey>;

  constructor(
    config: ConfigService<Environment, true>,
    private readonly dataSource: DataSource,
  ) {
    this.signingKey = TicketSigningKeys.loadSigningKey(config);
    this.current = verifyingKey(createPublicKey(this.signingKey));
    const retired = (config.get('TICKET_SIGNING_KEYS_RETIRED', { infer: true }) ?? '')
      .split(',')
      .filter((text) => text.trim() !== '')
      .map((text) => verifyingKey(parseEd25519PublicKey(text)));
    this.byId = new Map([...retired, this.current].map((key) => [key.id, key]));
  }

  private static loadSigningKey(config: ConfigService<Environment, true>): KeyObject {
    const configured = config.get('TICKET_SIGNING_KEY', { infer: true });
    if (configured) return parseEd25519PrivateKey(configured);
    const dataDir = resolve(config.get('DATA_DIR', { infer: true }));
    const file = join(dataDir, 'ticket-signing-key.pem');
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true });
      const { privateKey } = generateKeyPairSync('ed25519');
      writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
      new Logger('Tickets').warn(
        `TICKET_SIGNING_KEY is not set: generated one in ${file} (set it in production)`,
      );
    }
    return parseEd25519PrivateKey(readFileSync(file, 'utf8'));
  }

  /** Records when this deployment first used each key (what GET /check-in/keys shows). */
  async onApplicationBootstrap(): Promise<void> {
    const keys = [...this.byId.values()];
    await this.dataSource.query(
      `INSERT INTO ticket_signing_keys (id, public_key)
       SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT (id) DO NOTHING`,
      [keys.map((key) => key.id), keys.map((key) => key.raw)],
    );
  }

  codeOf(claims: TicketClaims): string {
    const signed = signedBytes(this.current.id, claims);
    return encodeCode(signed, sign(null, signed, this.signingKey));
  }

  /** The claims of a code one of our keys signed, or undefined for anything else. */
  verify(code: string): TicketClaims | undefined {
    const decoded = decodeCode(code);
    const key = decoded && this.byId.get(decoded.keyId);
    if (!decoded || !key) return undefined;
    return verify(null, decoded.signed, key.publicKey, decoded.signature)
      ? decoded.claims
      : undefined;
  }

  async published(): Promise<PublishedKey[]> {
    const rows: { id: string; createdAt: Date }[] = await this.dataSource.query(
      `SELECT id, created_at AS "createdAt" FROM ticket_signing_keys WHERE id = ANY($1)
       ORDER BY created_at DESC, id`,
      [[...this.byId.keys()]],
    );
    return rows.map(({ id, createdAt }) => ({
      id,
      algorithm: 'Ed25519',
      publicKey: this.byId.get(id)!.raw.toString('base64url'),
      createdAt,
    }));
  }
}
