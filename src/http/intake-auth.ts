/**
 * Who is calling an intake route: an intake key sent as a bearer token (or X-API-Key), or an
 * HMAC signature made with it (src/intake/hmac.ts). Then the per-key rate limit.
 */
import type { Request } from 'express';
import { hashKey } from '../intake/keys.js';
import { HMAC_HEADERS, KEY_ID_LENGTH, verifyIntakeSignature } from '../intake/hmac.js';
import { passIntakeGate } from '../intake/intake-gate.js';
import type { RateVerdict, SharedRateLimiter } from '../intake/shared-rate-limit.js';
import type { PrismaClient } from '../db/prisma.js';
import { HttpError } from './error-handler.js';

/** Raw request bodies, kept by the body parsers' verify hook: signatures are over the exact bytes. */
export const rawBodies = new WeakMap<object, Buffer>();
export const keepRawBody = (req: object, _res: unknown, buf: Buffer) => void rawBodies.set(req, buf);

export interface IntakeAuthSettings {
  /** per intake key, shared by every API process (src/intake/shared-rate-limit.ts) */
  limiter: SharedRateLimiter;
  hmacMaxSkewSeconds: number;
}

const KEY_ID = new RegExp(`^[0-9a-f]{${KEY_ID_LENGTH}}$`);

async function signedKey(prisma: PrismaClient, req: Request, maxSkew: number) {
  const keyId = req.header(HMAC_HEADERS.keyId);
  if (!keyId || !KEY_ID.test(keyId)) throw new HttpError(401, `malformed ${HMAC_HEADERS.keyId}: expected ${KEY_ID_LENGTH} lower-case hex characters`);
  const rows = await prisma.intakeKey.findMany({ where: { keyHash: { startsWith: keyId } }, include: { project: true }, take: 2 });
  if (rows.length !== 1) throw new HttpError(401, 'unknown key id');
  const row = rows[0]!;
  const headers = { timestamp: req.header(HMAC_HEADERS.timestamp), signature: req.header(HMAC_HEADERS.signature) };
  const check = verifyIntakeSignature(row.keyHash, headers, rawBodies.get(req) ?? Buffer.alloc(0), maxSkew);
  if (!check.ok) throw new HttpError(401, `bad signature: ${check.reason}`);
  // The request's identity for idempotency: a captured request can be replayed within the
  // timestamp skew, so the same signature must file the same report (the Idempotency-Key header
  // is not signed and cannot decide that).
  return { ...row, replayKey: `signed-${hashKey(headers.signature!).slice(0, 40)}` };
}

/** The bearer key sent (Authorization: Bearer, or X-API-Key). */
function bearerToken(req: Request): string {
  const auth = req.header('authorization');
  const key = auth?.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : req.header('x-api-key');
  if (!key) throw new HttpError(401, 'missing API key: send Authorization: Bearer <intake key>, or sign the request (X-Bugfix-Signature)');
  return key;
}

function refuseLimited(limited: RateVerdict): void {
  if (!limited.ok)
    throw new HttpError(
      429,
      `rate limit of this intake key exceeded; retry in ${limited.retryAfterS} s`,
      { retryAfterSeconds: limited.retryAfterS },
      { 'retry-after': String(limited.retryAfterS) },
    );
}

/**
 * The caller's key and project, once its token is taken. `switchesOf` (a task queue): a bearer
 * request also returns that deployment's stored kill switches, read in the same statement
 * (src/intake/intake-gate.ts); a signed one leaves them to the caller.
 */
export async function authenticateIntake(prisma: PrismaClient, req: Request, settings: IntakeAuthSettings, switchesOf?: string) {
  const signed = req.header(HMAC_HEADERS.keyId) !== undefined || req.header(HMAC_HEADERS.signature) !== undefined;
  if (!signed) {
    const pass = await passIntakeGate(prisma, hashKey(bearerToken(req)), settings.limiter, switchesOf ?? null);
    if (!pass || pass.key.revokedAt) throw new HttpError(401, 'unknown or revoked API key');
    refuseLimited(pass.limited);
    return { keyId: pass.key.id, project: pass.key.project, replayKey: undefined, switches: switchesOf === undefined ? undefined : pass.switches };
  }
  const row = await signedKey(prisma, req, settings.hmacMaxSkewSeconds);
  if (row.revokedAt) throw new HttpError(401, 'unknown or revoked API key');
  refuseLimited(await settings.limiter.take(row.id));
  return { keyId: row.id, project: row.project, replayKey: row.replayKey, switches: undefined };
}
