/**
 * Payload keys: BUGFIX_PAYLOAD_KEYS="id1:<base64 32 bytes>,id0:<base64>" (the first encrypts, all
 * decrypt). Without it, a machine-local key is created once in .data/payload-keys (mode 0600) so a
 * local stack is never unencrypted and its CLI, API, worker and tests share the key.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { PROJECT_ROOT } from '../config.js';
import { AesGcmCodec, type CodecKey } from './payload-codec.js';

export function parseKeys(spec: string): CodecKey[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [id, b64] = entry.split(':');
      if (!id || !b64 || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new Error('BUGFIX_PAYLOAD_KEYS entries look like "<key id>:<base64 of 32 bytes>"');
      const key = Buffer.from(b64, 'base64');
      if (key.length !== 32) throw new Error(`payload key ${id} is ${key.length} bytes; AES-256 needs 32`);
      return { id, key };
    });
}

/** Reads the machine-local key file, creating it first if no process has yet. */
export function readOrCreateLocalKeys(file: string): CodecKey[] {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const spec = `local-${Date.now().toString(36)}:${randomBytes(32).toString('base64')}`;
    // Written aside, then hard-linked into place: link() fails if the file exists, so two
    // processes starting at once never write different keys, and a reader never sees it half written.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, `${spec}\n`, { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  return parseKeys(fs.readFileSync(file, 'utf8'));
}

let cachedKeys: CodecKey[] | undefined;
/** This process's payload keys (also the root of the codec endpoint's session keys). */
export function payloadKeys(): CodecKey[] {
  cachedKeys ??= process.env.BUGFIX_PAYLOAD_KEYS
    ? parseKeys(process.env.BUGFIX_PAYLOAD_KEYS)
    : readOrCreateLocalKeys(path.join(PROJECT_ROOT, '.data', 'payload-keys'));
  return cachedKeys;
}

let cached: AesGcmCodec | undefined;
export function payloadCodec(): AesGcmCodec {
  cached ??= new AesGcmCodec(payloadKeys());
  return cached;
}

/** src/temporal/failure-converter.ts (same extension as this module: .ts under tsx) */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL(`./failure-converter${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export function dataConverter(): DataConverter {
  return { payloadCodecs: [payloadCodec()], failureConverterPath: FAILURE_CONVERTER_PATH };
}
