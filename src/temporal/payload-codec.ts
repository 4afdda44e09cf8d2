/**
 * Payload privacy: every payload Temporal stores (workflow inputs, activity results such as the bug
 * text and the PR body) is encrypted with AES-256-GCM. The key id travels in the payload's metadata
 * so keys can rotate: new payloads use the first key, old ones still decode with theirs.
 *
 * Two formats, told apart by the encoding:
 * - `binary/encrypted-v2` (written now): the encoding and the key id are the cipher's associated
 *   data, so a payload relabelled with another key id (or format) fails authentication instead of
 *   being decrypted under a key it was never meant for;
 * - `binary/encrypted` (written before): no associated data; still decoded, so running and saved
 *   histories (test/histories) keep working.
 * Payloads that are not encrypted (histories from before, the SDK's own markers) pass through:
 * workers must read them. What the HTTP codec endpoint lets through is narrower (codec-routes.ts).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

// A CommonJS module: its namespace comes through the default export.
const { temporal } = proto;

/** the format written now: key id and encoding bound as associated data */
export const ENCODING = 'binary/encrypted-v2';
/** the first format (no associated data): decoded only */
export const LEGACY_ENCODING = 'binary/encrypted';
export const ENCRYPTED_ENCODINGS: readonly string[] = [ENCODING, LEGACY_ENCODING];
export const KEY_ID_HEADER = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKey {
  id: string;
  /** 32 bytes */
  key: Buffer;
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : '');
/** What v2 authenticates besides the ciphertext: its format and the id of the key it claims. */
const associatedData = (keyId: string) => Buffer.from(`${ENCODING}\n${keyId}`);

/** Thrown for a payload that does not decrypt: one message, whatever the cause (no oracle). */
export class PayloadDecryptError extends Error {}

export class AesGcmCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: CodecKey[]) {
    if (keys.length === 0) throw new Error('the payload codec needs at least one key');
    for (const k of keys) if (k.key.length !== 32) throw new Error(`payload key ${k.id} must be 32 bytes`);
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0]!;
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(associatedData(id));
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: utf8(ENCODING), [KEY_ID_HEADER]: utf8(id) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const encoding = text(p.metadata?.encoding);
      if (!ENCRYPTED_ENCODINGS.includes(encoding)) return p;
      const id = text(p.metadata?.[KEY_ID_HEADER]);
      const key = this.byId.get(id);
      if (!key) throw new Error(`no payload key with id ${JSON.stringify(id)}: add it to BUGFIX_PAYLOAD_KEYS`);
      const data = Buffer.from(p.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptError('a payload does not decrypt');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
        if (encoding === ENCODING) decipher.setAAD(associatedData(id));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
        return temporal.api.common.v1.Payload.decode(plain) as Payload;
      } catch {
        throw new PayloadDecryptError('a payload does not decrypt');
      }
    });
  }
}
