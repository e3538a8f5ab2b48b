'use strict';
// Offline verification of an e-ticket code, for a scanner app that must keep working when the
// network does not. Plain Node (node:crypto), no dependencies: copy it into your scanner.
//
// Before the doors open, save the public keys and the event's revoked codes:
//
//   curl -s "$API/check-in/keys" > keys.json                              # public
//   curl -s "$API/events/$EVENT_ID/check-in/revoked" \
//     -H "Authorization: Bearer $STAFF_TOKEN" > revoked.json              # door staff
//
// then check each scanned code without the server:
//
//   node examples/verify-ticket-code.js --keys keys.json --revoked revoked.json \
//     --event "$EVENT_ID" "$CODE"
//
// It prints one JSON line, {"verdict":"admit","ticketId":…,"eventId":…,"orderId":…} with exit
// status 0, or a refusal with exit status 1: "unknown_code" (not signed by a published key:
// forged, damaged, truncated), "revoked" (refunded or cancelled) or "wrong_event" (a valid
// ticket for another event), the names the online check-in answers with. Offline it cannot
// know that another scanner admitted the ticket a minute ago: online check-in admits once.
//
// A code is base64url of 117 bytes: format version (1 byte, 1) · key id (4) · ticket id,
// event id, order id (16 each, raw UUID bytes) · Ed25519 signature of the 53 bytes before it.
const { createPublicKey, verify } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { parseArgs } = require('node:util');

const CODE_VERSION = 1;
const SIGNED_BYTES = 53;
const CODE_BYTES = SIGNED_BYTES + 64;
// DER prefix that turns a raw 32-byte Ed25519 public key into a SubjectPublicKeyInfo.
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

const uuid = (bytes) => bytes.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
// What a key signed about the ticket: revocations match on it, whichever key signed.
const claimsOf = (bytes) => bytes.subarray(5, SIGNED_BYTES).toString('hex');

/** The 117 bytes of a well-formed code, or null (base64url that re-encodes to itself). */
function bytesOf(code) {
  if (typeof code !== 'string' || !/^[A-Za-z0-9_-]+$/.test(code)) return null;
  const bytes = Buffer.from(code, 'base64url');
  if (bytes.length !== CODE_BYTES || bytes.toString('base64url') !== code) return null;
  return bytes[0] === CODE_VERSION ? bytes : null;
}

/** { ticketId, eventId, orderId } of a code one of `keys` signed (revoked or not); else null. */
function readTicketCode(code, keys) {
  const bytes = bytesOf(code);
  if (!bytes) return null;
  const key = keys.find((k) => Buffer.from(k.id, 'base64url').equals(bytes.subarray(1, 5)));
  if (!key) return null;
  const publicKey = createPublicKey({
    key: Buffer.concat([ED25519_SPKI, Buffer.from(key.publicKey, 'base64url')]),
    format: 'der',
    type: 'spki',
  });
  const signed = bytes.subarray(0, SIGNED_BYTES);
  if (!verify(null, signed, publicKey, bytes.subarray(SIGNED_BYTES))) return null;
  const [ticketId, eventId, orderId] = [5, 21, 37].map((at) => uuid(bytes.subarray(at, at + 16)));
  return { ticketId, eventId, orderId };
}

/** Whether the ticket a code names, in that order, is on the revoked list. */
function isRevoked(code, revokedCodes) {
  const claims = claimsOf(Buffer.from(code, 'base64url'));
  return revokedCodes.some((revoked) => claimsOf(Buffer.from(revoked, 'base64url')) === claims);
}

/** { ticketId, eventId, orderId } of a code one of `keys` signed and not revoked; else null. */
function verifyTicketCode(code, keys, revokedCodes) {
  const claims = readTicketCode(code, keys);
  return claims && !isRevoked(code, revokedCodes) ? claims : null;
}

/** The door's verdict on a code: admit, or why not. `eventId` is the event at this door. */
function checkTicket(code, { keys, revokedCodes = [], eventId }) {
  const claims = readTicketCode(code, keys);
  if (!claims) return { verdict: 'unknown_code' };
  if (eventId && claims.eventId !== eventId) return { verdict: 'wrong_event', ...claims };
  if (isRevoked(code, revokedCodes)) return { verdict: 'revoked', ...claims };
  return { verdict: 'admit', ...claims };
}

function main() {
  const usage =
    'usage: node verify-ticket-code.js --keys keys.json [--revoked revoked.json] [--event id] CODE';
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { keys: { type: 'string' }, revoked: { type: 'string' }, event: { type: 'string' } },
    });
  } catch (error) {
    return fail(`${error.message}\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (!values.keys || positionals.length !== 1) return fail(usage);
  // The saved answers of GET /check-in/keys ({ keys }) and GET /events/{id}/check-in/revoked ({ codes }).
  const { keys } = JSON.parse(readFileSync(values.keys, 'utf8'));
  const revokedCodes = values.revoked ? JSON.parse(readFileSync(values.revoked, 'utf8')).codes : [];
  const result = checkTicket(positionals[0], { keys, revokedCodes, eventId: values.event });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.verdict === 'admit' ? 0 : 1;
}

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exitCode = 2;
}

if (require.main === module) main();

module.exports = { verifyTicketCode, checkTicket };
