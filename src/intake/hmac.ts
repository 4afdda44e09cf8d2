/**
 * HMAC-signed intake, for systems that must not send a bearer secret over the wire.
 *
 * The server stores only SHA-256(intake key), so the signing secret is derived from that hash:
 *   keyHash = sha256_hex(intakeKey)
 *   keyId   = keyHash[0..16)                      (names the key; reveals nothing usable)
 *   secret  = sha256("bugfix-hmac-v1:" + keyHash)  (raw 32 bytes)
 *   X-Bugfix-Key-Id: <keyId>
 *   X-Bugfix-Timestamp: <unix seconds>
 *   X-Bugfix-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 * A client needs nothing but its intake key. Trade-off (no schema change): whoever can read the
 * IntakeKey table can sign requests, which is true of every HMAC scheme whose secret the server
 * must hold; bearer use of the key still needs the key itself.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { hashKey } from './keys.js';

export const HMAC_HEADERS = { keyId: 'x-bugfix-key-id', timestamp: 'x-bugfix-timestamp', signature: 'x-bugfix-signature' } as const;
export const KEY_ID_LENGTH = 16;

function signingSecret(keyHash: string): Buffer {
  return createHash('sha256').update(`bugfix-hmac-v1:${keyHash}`).digest();
}

function signatureOf(keyHash: string, timestamp: string, rawBody: Buffer | string): Buffer {
  return createHmac('sha256', signingSecret(keyHash)).update(`${timestamp}.`).update(rawBody).digest();
}

/** What a client sends: headers for this body, signed now (or at `timestamp`). */
export function signIntakeRequest(intakeKey: string, rawBody: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const keyHash = hashKey(intakeKey);
  return {
    [HMAC_HEADERS.keyId]: keyHash.slice(0, KEY_ID_LENGTH),
    [HMAC_HEADERS.timestamp]: String(timestamp),
    [HMAC_HEADERS.signature]: `v1=${signatureOf(keyHash, String(timestamp), rawBody).toString('hex')}`,
  };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verifyIntakeSignature(
  keyHash: string,
  headers: { timestamp?: string; signature?: string },
  rawBody: Buffer | string,
  maxSkewSeconds: number,
  nowMs = Date.now(),
): SignatureCheck {
  const ts = headers.timestamp ?? '';
  if (!/^[0-9]{1,12}$/.test(ts)) return { ok: false, reason: `missing or malformed ${HMAC_HEADERS.timestamp} (unix seconds)` };
  if (Math.abs(nowMs / 1000 - Number(ts)) > maxSkewSeconds) return { ok: false, reason: `stale or future timestamp (allowed skew ${maxSkewSeconds} s)` };
  const m = /^v1=([0-9a-f]{64})$/i.exec(headers.signature ?? '');
  if (!m) return { ok: false, reason: `malformed ${HMAC_HEADERS.signature}: expected v1=<64 hex>` };
  const expected = signatureOf(keyHash, ts, rawBody);
  // Same length by construction (regex), so timingSafeEqual cannot throw.
  if (!timingSafeEqual(Buffer.from(m[1]!, 'hex'), expected)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}
