/**
 * The text an e-ticket's QR code carries: base64url of
 *
 *   version (1 byte) · key id (4) · ticket id (16) · event id (16) · order id (16) · Ed25519 signature (64)
 *
 * 117 bytes, 156 characters: a version-9 QR code a phone camera reads at arm's length. The
 * signature covers the 53 bytes before it. The order id is in the code because a refunded
 * ticket is sold again: the old buyer's code must not admit once the new buyer's does.
 */
export const CODE_VERSION = 1;
export const KEY_ID_BYTES = 4;
const UUID_BYTES = 16;
export const SIGNED_BYTES = 1 + KEY_ID_BYTES + 3 * UUID_BYTES;
export const SIGNATURE_BYTES = 64;
export const CODE_BYTES = SIGNED_BYTES + SIGNATURE_BYTES;

export interface TicketClaims {
  ticketId: string;
  eventId: string;
  orderId: string;
}

export interface DecodedCode {
  keyId: string;
  claims: TicketClaims;
  signed: Buffer;
  signature: Buffer;
}

const uuidBytes = (uuid: string): Buffer => Buffer.from(uuid.replace(/-/g, ''), 'hex');

function uuidOf(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The bytes a key signs for these claims. `keyId` is base64url of KEY_ID_BYTES bytes. */
export function signedBytes(keyId: string, claims: TicketClaims): Buffer {
  return Buffer.concat([
    Buffer.from([CODE_VERSION]),
    Buffer.from(keyId, 'base64url'),
    uuidBytes(claims.ticketId),
    uuidBytes(claims.eventId),
    uuidBytes(claims.orderId),
  ]);
}

export function encodeCode(signed: Buffer, signature: Buffer): string {
  return Buffer.concat([signed, signature]).toString('base64url');
}

/** The parts of a well-formed code (not yet verified), or undefined. */
export function decodeCode(code: string): DecodedCode | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(code)) return undefined;
  const bytes = Buffer.from(code, 'base64url');
  // Re-encoding catches trailing bits that base64url decoding silently drops.
  if (bytes.length !== CODE_BYTES || bytes.toString('base64url') !== code) return undefined;
  if (bytes[0] !== CODE_VERSION) return undefined;
  let at = 1 + KEY_ID_BYTES;
  const next = () => uuidOf(bytes.subarray(at, (at += UUID_BYTES)));
  return {
    keyId: bytes.subarray(1, 1 + KEY_ID_BYTES).toString('base64url'),
    claims: { ticketId: next(), eventId: next(), orderId: next() },
    signed: bytes.subarray(0, SIGNED_BYTES),
    signature: bytes.subarray(SIGNED_BYTES),
  };
}
