import { generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { CODE_BYTES, decodeCode, encodeCode, signedBytes } from './ticket-code';

describe('ticket codes', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const claims = fc.record({ ticketId: fc.uuid(), eventId: fc.uuid(), orderId: fc.uuid() });
  const keyId = fc
    .uint8Array({ minLength: 4, maxLength: 4 })
    .map((bytes) => Buffer.from(bytes).toString('base64url'));
  const codeOf = (id: string, c: { ticketId: string; eventId: string; orderId: string }) => {
    const signed = signedBytes(id, c);
    return encodeCode(signed, sign(null, signed, privateKey));
  };

  it('round-trips the claims in 156 URL-safe characters', () => {
    fc.assert(
      fc.property(keyId, claims, (id, c) => {
        const code = codeOf(id, c);
        expect(code).toMatch(/^[\w-]{156}$/);
        const decoded = decodeCode(code);
        expect(decoded).toEqual(expect.objectContaining({ keyId: id, claims: c }));
        expect(verify(null, decoded!.signed, publicKey, decoded!.signature)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('no single changed byte keeps a valid signature', () => {
    fc.assert(
      fc.property(
        keyId,
        claims,
        fc.integer({ min: 0, max: CODE_BYTES - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (id, c, at, mask) => {
          const bytes = Buffer.from(codeOf(id, c), 'base64url');
          bytes[at] ^= mask;
          const decoded = decodeCode(bytes.toString('base64url'));
          // A changed version byte does not even decode; anything else fails the signature.
          if (decoded) {
            expect(verify(null, decoded.signed, publicKey, decoded.signature)).toBe(false);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects what is not exactly one canonical code', () => {
    const code = codeOf('AAAAAA', {
      ticketId: '00000000-0000-4000-8000-000000000001',
      eventId: '00000000-0000-4000-8000-000000000002',
      orderId: '00000000-0000-4000-8000-000000000003',
    });
    for (const bad of [
      '',
      code.slice(0, -1),
      `${code}A`,
      `${code.slice(0, -1)}=`,
      code.replace(/^./, '+'),
      ` ${code}`,
    ]) {
      expect(decodeCode(bad)).toBeUndefined();
    }
    expect(decodeCode(code)).toBeDefined();
  });
});
