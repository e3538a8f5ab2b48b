import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

// The fixed DER prefixes of an Ed25519 key: PKCS#8 around a 32-byte seed, SPKI around a
// 32-byte public key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * An Ed25519 private key from PEM (PKCS#8, `\n` may be escaped) or base64/base64url of its
 * PKCS#8 DER or of the raw 32-byte seed. Throws on anything else.
 */
export function parseEd25519PrivateKey(text: string): KeyObject {
  const trimmed = text.trim().replace(/\\n/g, '\n');
  const key = trimmed.startsWith('-----BEGIN')
    ? createPrivateKey(trimmed)
    : (() => {
        const der = Buffer.from(trimmed, 'base64');
        return createPrivateKey({
          key: der.length === 32 ? Buffer.concat([PKCS8_PREFIX, der]) : der,
          format: 'der',
          type: 'pkcs8',
        });
      })();
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
  return key;
}

/** An Ed25519 public key from base64url (or base64) of its raw 32 bytes, as published. */
export function parseEd25519PublicKey(text: string): KeyObject {
  const raw = Buffer.from(text.trim(), 'base64');
  if (raw.length !== 32) throw new Error('not 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The raw 32 bytes of an Ed25519 public (or private) key. */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return spki.subarray(SPKI_PREFIX.length);
}

export function isEd25519PrivateKey(value: unknown): boolean {
  try {
    return typeof value === 'string' && Boolean(parseEd25519PrivateKey(value));
  } catch {
    return false;
  }
}

export function areEd25519PublicKeys(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    return value.split(',').every((part) => Boolean(parseEd25519PublicKey(part)));
  } catch {
    return false;
  }
}
