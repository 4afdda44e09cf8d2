import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { decodeOptionalFailureToOptionalError, encodeErrorToFailure } from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow/data-converter-helpers.js';
import { createCipheriv, randomBytes } from 'node:crypto';
import proto from '@temporalio/proto';
import { AesGcmCodec, ENCODING, KEY_ID_HEADER, LEGACY_ENCODING } from '../../src/temporal/payload-codec.js';
import { dataConverter, parseKeys } from '../../src/temporal/payload-keys.js';
import { RECORDING_KEYS } from '../../scripts/record-histories-key.js';

// A CommonJS module: its namespace comes through the default export.
const { temporal } = proto;

const key = (n: number) => Buffer.alloc(32, n);
const secret = defaultPayloadConverter.toPayload({ description: 'Checkout crashes for user alice@example.com' });

describe('payload codec', () => {
  test('encrypts so the plaintext is gone, and decrypts to the same payload', async () => {
    const codec = new AesGcmCodec([{ id: 'k1', key: key(1) }]);
    const [enc] = await codec.encode([secret]);
    expect(Buffer.from(enc!.data!).toString('latin1')).not.toContain('alice');
    expect(new TextDecoder().decode(enc!.metadata!.encoding)).toBe(ENCODING);
    const [dec] = await codec.decode([enc!]);
    expect(defaultPayloadConverter.fromPayload(dec!)).toEqual({ description: 'Checkout crashes for user alice@example.com' });
  });

  test('keys rotate: the first key encrypts, older keys still decrypt', async () => {
    const old = new AesGcmCodec([{ id: 'k1', key: key(1) }]);
    const rotated = new AesGcmCodec([
      { id: 'k2', key: key(2) },
      { id: 'k1', key: key(1) },
    ]);
    const [fromOld] = await old.encode([secret]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([fromOld!]))[0]!)).toEqual(defaultPayloadConverter.fromPayload(secret));
    const [fromNew] = await rotated.encode([secret]);
    expect(new TextDecoder().decode(fromNew!.metadata!['encryption-key-id'])).toBe('k2');
    await expect(old.decode([fromNew!])).rejects.toThrow(/no payload key with id "k2"/);
  });

  test('tampering is detected; plaintext payloads pass through', async () => {
    const codec = new AesGcmCodec([{ id: 'k1', key: key(1) }]);
    const [enc] = await codec.encode([secret]);
    const data = Buffer.from(enc!.data!);
    data[20]! ^= 1;
    await expect(codec.decode([{ ...enc!, data }])).rejects.toThrow();
    expect(await codec.decode([secret])).toEqual([secret]);
  });

  test('the format is versioned: v2 binds the key id, and relabelling it fails', async () => {
    // The same key bytes under two ids (a key re-registered under a new name): the key id in the
    // metadata is authenticated, so a payload cannot be passed off as another key's.
    const codec = new AesGcmCodec([
      { id: 'k1', key: key(1) },
      { id: 'k1-again', key: key(1) },
    ]);
    const [enc] = await codec.encode([secret]);
    expect(new TextDecoder().decode(enc!.metadata!.encoding)).toBe('binary/encrypted-v2');
    const relabelled = { ...enc!, metadata: { ...enc!.metadata, [KEY_ID_HEADER]: new TextEncoder().encode('k1-again') } };
    await expect(codec.decode([relabelled])).rejects.toThrow('a payload does not decrypt');
    // Nor can it be passed off as the first format (no associated data).
    const downgraded = { ...enc!, metadata: { ...enc!.metadata, encoding: new TextEncoder().encode(LEGACY_ENCODING) } };
    await expect(codec.decode([downgraded])).rejects.toThrow('a payload does not decrypt');
  });

  test('the first format (no associated data) still decodes', async () => {
    // Written the way payloads were before v2.
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key(1), iv);
    const ct = Buffer.concat([cipher.update(temporal.api.common.v1.Payload.encode(secret).finish()), cipher.final()]);
    const v1 = {
      metadata: { encoding: new TextEncoder().encode(LEGACY_ENCODING), [KEY_ID_HEADER]: new TextEncoder().encode('k1') },
      data: Buffer.concat([iv, ct, cipher.getAuthTag()]),
    };
    const [dec] = await new AesGcmCodec([{ id: 'k1', key: key(1) }]).decode([v1]);
    expect(defaultPayloadConverter.fromPayload(dec!)).toEqual(defaultPayloadConverter.fromPayload(secret));
  });

  test('a saved history (first format) decodes: its workflow input comes back', async () => {
    const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(import.meta.dirname, '..', 'histories', 'pr-created.history.pb')));
    const input = history.events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect(new TextDecoder().decode(input.metadata!.encoding!)).toBe(LEGACY_ENCODING);
    const [dec] = await new AesGcmCodec(parseKeys(RECORDING_KEYS)).decode([input as never]);
    expect(defaultPayloadConverter.fromPayload(dec!)).toMatchObject({ bugId: expect.any(String), projectKey: expect.any(String) });
  });

  test('key specs are validated', () => {
    expect(parseKeys(`a:${key(3).toString('base64')}, b:${key(4).toString('base64')}`).map((k) => k.id)).toEqual(['a', 'b']);
    expect(() => parseKeys('a:c2hvcnQ=')).toThrow(/needs 32/);
    expect(() => parseKeys('nocolon')).toThrow(/look like/);
  });
});

describe('machine-local payload key', () => {
  // CI once saw a process read the key file between its creation and its write, and start
  // with no key. Processes that start together must all read the same, whole key.
  test('processes starting at once all read the one key, and nothing is left beside it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payload-keys-'));
    const file = path.join(dir, 'payload-keys');
    const startAt = Date.now() + 2500;
    const script = `
      import { readOrCreateLocalKeys } from ${JSON.stringify(path.resolve('src/temporal/payload-keys.ts'))};
      while (Date.now() < ${startAt});
      console.log(readOrCreateLocalKeys(${JSON.stringify(file)}).map((k) => k.id).join(','));`;
    const run = () =>
      new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], (err, out, errOut) =>
          err ? reject(new Error(errOut || String(err))) : resolve(out.trim()),
        ),
      );
    const ids = await Promise.all(Array.from({ length: 6 }, run));
    expect(ids[0]).toMatch(/^local-/);
    expect(new Set(ids)).toEqual(new Set([ids[0]]));
    expect(fs.readdirSync(dir)).toEqual(['payload-keys']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);
});

describe('failures in history', () => {
  // Failure messages carry git's stderr, an install step's output, an operator's kill reason.
  test('a failure message and stack are encrypted like payloads, and decode back', async () => {
    const converter = loadDataConverter(dataConverter());
    const secret = 'install step `npm ci` exited: npm ERR! 401 token npm_SECRET123 for registry.acme.test';
    const failure = await encodeErrorToFailure(converter, ApplicationFailure.retryable(secret, 'InstallFailed'));
    expect(failure.message).toBe('Encoded failure');
    expect(JSON.stringify(failure)).not.toContain('npm_SECRET123');
    const decoded = await decodeOptionalFailureToOptionalError(converter, failure);
    expect(decoded).toBeInstanceOf(ApplicationFailure);
    expect((decoded as ApplicationFailure).message).toBe(secret);
    expect((decoded as ApplicationFailure).type).toBe('InstallFailed');
  });
});
