/**
 * The Web UI's sign-in to the codec endpoint: a short-lived, codec-only session instead of the
 * admin token itself. The cookie holds `<admin token id>.<expiry, unix seconds>.<HMAC>`: stolen, it
 * decodes payloads until it expires (or its token is revoked) and opens nothing else, since the
 * admin API only takes admin tokens. Stateless, so every API process accepts every other's
 * sessions: the HMAC key is derived from the payload keys all of them share (HKDF, its own label,
 * so it is independent of the encryption key); after a key rotation older keys still verify.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export interface CodecSessions {
  ttlSeconds: number;
  issue(tokenId: string, now?: number): { value: string; expiresAt: Date };
  /** the admin token id of a valid, unexpired session; null for anything else */
  verify(value: string, now?: number): string | null;
}

/** One HMAC key per payload key (the first signs, all verify). */
export function sessionSecrets(payloadKeys: readonly Buffer[]): Buffer[] {
  return payloadKeys.map((k) => Buffer.from(hkdfSync('sha256', k, Buffer.alloc(0), 'bugfix codec session v1', 32)));
}

export function codecSessions(secrets: readonly Buffer[], ttlSeconds: number): CodecSessions {
  if (secrets.length === 0) throw new Error('codec sessions need a secret');
  const mac = (secret: Buffer, body: string) => createHmac('sha256', secret).update(`codec-session:${body}`).digest();
  return {
    ttlSeconds,
    issue(tokenId, now = Date.now()) {
      const exp = Math.floor(now / 1000) + ttlSeconds;
      const body = `${tokenId}.${exp}`;
      return { value: `${body}.${mac(secrets[0]!, body).toString('base64url')}`, expiresAt: new Date(exp * 1000) };
    },
    verify(value, now = Date.now()) {
      const m = /^([A-Za-z0-9_-]{1,64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
      if (!m) return null;
      const [, tokenId, exp, sig] = m;
      if (Number(exp) * 1000 <= now) return null;
      const given = Buffer.from(sig!, 'base64url');
      const ok = secrets.some((s) => {
        const want = mac(s, `${tokenId}.${exp}`);
        return want.length === given.length && timingSafeEqual(want, given);
      });
      return ok ? tokenId! : null;
    },
  };
}
