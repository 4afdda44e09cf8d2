/** Codec sessions (the Web UI's sign-in): signed, expiring, verifiable by every process sharing the payload keys. */
import { describe, expect, test } from 'vitest';
import { codecSessions, sessionSecrets } from '../../src/http/codec-session.js';

const k1 = Buffer.alloc(32, 1);
const k2 = Buffer.alloc(32, 2);
const tokenId = '0b7c6f1e-3a4d-4f55-9a51-8f2b2c3d4e5f';

describe('codec sessions', () => {
  test('a session names its token until it expires', () => {
    const sessions = codecSessions(sessionSecrets([k1]), 3600);
    const t0 = Date.UTC(2026, 0, 1);
    const { value, expiresAt } = sessions.issue(tokenId, t0);
    expect(expiresAt.getTime()).toBe(t0 + 3600_000);
    expect(sessions.verify(value, t0 + 3599_000)).toBe(tokenId);
    expect(sessions.verify(value, t0 + 3600_000)).toBeNull();
  });

  test('another process with the same keys accepts it; after a key rotation the old key still verifies; other keys do not', () => {
    const { value } = codecSessions(sessionSecrets([k1]), 600).issue(tokenId);
    expect(codecSessions(sessionSecrets([k1]), 600).verify(value)).toBe(tokenId);
    expect(codecSessions(sessionSecrets([k2, k1]), 600).verify(value)).toBe(tokenId);
    expect(codecSessions(sessionSecrets([k2]), 600).verify(value)).toBeNull();
  });

  test('the session key is not the payload key, and garbage is no session', () => {
    expect(sessionSecrets([k1])[0]!.equals(k1)).toBe(false);
    const sessions = codecSessions(sessionSecrets([k1]), 600);
    for (const junk of ['', 'bfa_token', `${tokenId}.99999999999.`, `${tokenId}.1.${'A'.repeat(43)}`, '%'.repeat(10)]) expect(sessions.verify(junk)).toBeNull();
  });
});
