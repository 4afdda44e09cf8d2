/**
 * The Web UI's codec endpoint: authenticated (bearer token, or the UI's codec session), CORS for
 * the UI's origin, encode (operators) / decode (viewers) round trip, and what decode refuses.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { CODEC_COOKIE } from '../../src/http/codec-routes.js';
import { ENCODING, KEY_ID_HEADER } from '../../src/temporal/payload-codec.js';
import { payloadKeys } from '../../src/temporal/payload-keys.js';
import { createApp } from '../../src/http/app.js';
import { connectClient } from '../../src/temporal/connect.js';
import type { Client } from '@temporalio/client';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
let app: ReturnType<typeof createApp>;
let token: string;
let operator: string;
const toJson = (p: ReturnType<typeof defaultPayloadConverter.toPayload>) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
  data: Buffer.from(p.data!).toString('base64'),
});

beforeAll(async () => {
  temporal = await connectClient();
  app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log: { error: () => undefined } });
  token = (await createAdminToken(prisma, `codec-test-${Date.now()}`, 'VIEWER')).token;
  operator = (await createAdminToken(prisma, `codec-test-op-${Date.now()}`, 'OPERATOR')).token;
});
afterAll(async () => {
  await temporal.connection.close();
  await prisma.$disconnect();
});

describe('/codec', () => {
  test('preflight allows the Web UI origin; requests need an admin token', async () => {
    const pre = await request(app).options('/codec/decode').set('origin', 'http://localhost:8233');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('http://localhost:8233');
    expect((await request(app).post('/codec/decode').send({ payloads: [] })).status).toBe(401);
    expect((await request(app).post('/codec/decode').set('authorization', 'Bearer bfa_wrong').send({ payloads: [] })).status).toBe(401);
  });

  test('encode (operator) hides the text; decode (viewer) brings it back', async () => {
    const plain = toJson(defaultPayloadConverter.toPayload({ title: 'Refund button charges twice' }));
    const enc = await request(app)
      .post('/codec/encode')
      .set('authorization', `Bearer ${operator}`)
      .send({ payloads: [plain] });
    expect(enc.status).toBe(200);
    expect(Buffer.from(enc.body.payloads[0].data, 'base64').toString('latin1')).not.toContain('Refund');
    const dec = await request(app).post('/codec/decode').set('authorization', `Bearer ${token}`).send(enc.body);
    expect(dec.status).toBe(200);
    expect(dec.body.payloads[0]).toEqual(plain);
  });

  test('viewers may not encode (they would mint ciphertext workers accept); an empty list is no encryption', async () => {
    const plain = toJson(defaultPayloadConverter.toPayload('anything a viewer makes up'));
    const res = await request(app)
      .post('/codec/encode')
      .set('authorization', `Bearer ${token}`)
      .send({ payloads: [plain] });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/operator/);
    // What `temporal workflow query` sends for a query without arguments (protobuf JSON omits the empty list).
    const empty = await request(app).post('/codec/encode').set('authorization', `Bearer ${token}`).send({});
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ payloads: [] });
  });

  test('decode is no echo for made-up data: unknown encodings, misshapen plaintext and forged ciphertext are refused', async () => {
    const decode = (p: { metadata: Record<string, string>; data: string }) =>
      request(app)
        .post('/codec/decode')
        .set('authorization', `Bearer ${token}`)
        .send({ payloads: [p] });
    const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
    // Temporal's own plaintext (markers, search attributes, histories from before) passes unchanged.
    const marker = { metadata: { encoding: b64('json/plain') }, data: b64('{"id":"hints-kept","deprecated":false}') };
    const ok = await decode(marker);
    expect(ok.status).toBe(200);
    expect(ok.body.payloads[0]).toEqual(marker);
    expect((await decode({ metadata: { encoding: b64('text/html') }, data: b64('<script>alert(1)</script>') })).status).toBe(400);
    expect((await decode({ metadata: {}, data: b64('no encoding at all') })).status).toBe(400);
    expect((await decode({ metadata: { encoding: b64('json/plain') }, data: b64('<not json>') })).status).toBe(400);
    expect((await decode({ metadata: { encoding: b64('binary/null') }, data: b64('not null') })).status).toBe(400);
    // Ciphertext under a real key id that our key never made: one message, whatever went wrong.
    const keyId = payloadKeys()[0]!.id;
    for (const data of [randomBytes(64), randomBytes(3)]) {
      const forged = await decode({ metadata: { encoding: b64(ENCODING), [KEY_ID_HEADER]: b64(keyId) }, data: b64(data) });
      expect(forged.status).toBe(400);
      expect(forged.body.error).toBe('cannot decode: a payload does not decrypt');
    }
  });

  test('a malformed body is a 400 with a reason', async () => {
    const res = await request(app).post('/codec/decode').set('authorization', `Bearer ${token}`).send({ payloads: 'nope' });
    expect(res.status).toBe(400);
  });

  describe('the Web UI signed in with a cookie', () => {
    const UI = 'http://localhost:8233';
    const cookieOf = (res: request.Response) => {
      const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      const line = set.find((c) => c.startsWith(`${CODEC_COOKIE}=`));
      return { line: line ?? '', pair: line?.split(';')[0] ?? '' };
    };
    const someEncrypted = async () =>
      (
        await request(app)
          .post('/codec/encode')
          .set('authorization', `Bearer ${operator}`)
          .send({ payloads: [toJson(defaultPayloadConverter.toPayload('Refund button charges twice'))] })
      ).body;

    test('the sign-in form sets an HttpOnly, SameSite=Strict cookie scoped to /codec', async () => {
      const form = await request(app).get('/codec/login');
      expect(form.status).toBe(200);
      expect(form.text).toContain('name="token"');
      const res = await request(app).post('/codec/login').type('form').send({ token });
      expect(res.status).toBe(200);
      expect(res.text).toContain('Include cross-origin credentials');
      const { line } = cookieOf(res);
      expect(line).toMatch(/Path=\/codec/);
      expect(line).toMatch(/HttpOnly/);
      expect(line).toMatch(/SameSite=Strict/);
      expect(line).toMatch(/Max-Age=3600/);
      expect(line).not.toMatch(/Secure/); // plain HTTP
    });

    test('the cookie holds a codec-only session, not the admin token', async () => {
      const res = await request(app).post('/codec/login').send({ token });
      const { pair } = cookieOf(res);
      const value = decodeURIComponent(pair.slice(CODEC_COOKIE.length + 1));
      expect(value).not.toBe('');
      expect(value).not.toContain(token);
      expect(value).not.toContain(token.slice(4, 20));
      expect(new Date(res.body.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
      // Stolen, it opens neither the admin API nor the codec endpoint as a bearer token.
      expect((await request(app).get('/admin/budgets').set('authorization', `Bearer ${value}`)).status).toBe(401);
      expect((await request(app).post('/codec/decode').set('authorization', `Bearer ${value}`).send({ payloads: [] })).status).toBe(401);
      // Altered (another token id, a later expiry), it is nothing.
      const [id, exp, mac] = value.split('.');
      for (const forged of [`${id!.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))}.${exp}.${mac}`, `${id}.${Number(exp) + 3600}.${mac}`]) {
        const r = await request(app)
          .post('/codec/decode')
          .set('origin', UI)
          .set('cookie', `${CODEC_COOKIE}=${encodeURIComponent(forged)}`)
          .send({ payloads: [] });
        expect(r.status).toBe(401);
      }
    });

    test('a viewer session decodes but does not encode; an operator session encodes', async () => {
      const viewerCookie = cookieOf(await request(app).post('/codec/login').send({ token })).pair;
      const operatorCookie = cookieOf(await request(app).post('/codec/login').send({ token: operator })).pair;
      const plain = { payloads: [toJson(defaultPayloadConverter.toPayload('hint text'))] };
      expect((await request(app).post('/codec/encode').set('origin', UI).set('cookie', viewerCookie).send(plain)).status).toBe(403);
      expect((await request(app).post('/codec/encode').set('origin', UI).set('cookie', operatorCookie).send(plain)).status).toBe(200);
    });

    test('behind a TLS proxy (HTTP_TRUST_PROXY) the cookie is Secure; without trusting it, a forged header does not count', async () => {
      const trust = (v?: string) => loadConfig({ ...(v === undefined ? {} : { HTTP_TRUST_PROXY: v }) }).HTTP_TRUST_PROXY;
      expect([trust(), trust('false'), trust('true'), trust('2'), trust('loopback, 10.0.0.0/8')]).toEqual([false, false, true, 2, 'loopback, 10.0.0.0/8']);
      const behindProxy = createApp({ prisma, temporal, temporalUiUrl: UI, log: { error: () => undefined }, trustProxy: trust('loopback') });
      const viaProxy = await request(behindProxy).post('/codec/login').set('x-forwarded-proto', 'https').send({ token });
      expect(cookieOf(viaProxy).line).toMatch(/; Secure/);
      const untrusted = await request(app).post('/codec/login').set('x-forwarded-proto', 'https').send({ token });
      expect(cookieOf(untrusted).line).not.toMatch(/Secure/);
    });

    test('the cookie decodes for the UI origin only; bearer callers are unchanged', async () => {
      const { pair } = cookieOf(await request(app).post('/codec/login').send({ token }));
      expect(pair).not.toBe('');
      const enc = await someEncrypted();
      const fromUi = await request(app).post('/codec/decode').set('origin', UI).set('cookie', pair).send(enc);
      expect(fromUi.status).toBe(200);
      expect(fromUi.headers['access-control-allow-credentials']).toBe('true');
      expect(Buffer.from(fromUi.body.payloads[0].data, 'base64').toString()).toContain('Refund');
      // Not from another origin (another site on localhost), not without an Origin (a script).
      expect((await request(app).post('/codec/decode').set('origin', 'http://localhost:9999').set('cookie', pair).send(enc)).status).toBe(401);
      expect((await request(app).post('/codec/decode').set('cookie', pair).send(enc)).status).toBe(401);
      expect((await request(app).post('/codec/decode').set('origin', 'null').set('cookie', pair).send(enc)).status).toBe(401);
      // A forged cookie is no token.
      expect((await request(app).post('/codec/decode').set('origin', UI).set('cookie', `${CODEC_COOKIE}=bfa_forged`).send(enc)).status).toBe(401);
    });

    test('sign-in refuses unknown tokens and cross-site forms; revoking the token ends the cookie', async () => {
      const bad = await request(app).post('/codec/login').type('form').send({ token: 'bfa_wrong' });
      expect(bad.status).toBe(401);
      expect(cookieOf(bad).pair).toBe('');
      expect((await request(app).post('/codec/login').send({ token: 'bfa_wrong' })).status).toBe(401);
      const foreign = await request(app).post('/codec/login').set('origin', 'http://evil.example').type('form').send({ token });
      expect(foreign.status).toBe(403);
      expect(cookieOf(foreign).pair).toBe('');

      const short = await createAdminToken(prisma, `codec-revoke-${Date.now()}`, 'VIEWER');
      const { pair } = cookieOf(await request(app).post('/codec/login').send({ token: short.token }));
      const enc = await someEncrypted();
      expect((await request(app).post('/codec/decode').set('origin', UI).set('cookie', pair).send(enc)).status).toBe(200);
      await prisma.adminToken.update({ where: { id: short.id }, data: { revokedAt: new Date() } });
      expect((await request(app).post('/codec/decode').set('origin', UI).set('cookie', pair).send(enc)).status).toBe(401);

      const out = await request(app).post('/codec/logout');
      expect(out.status).toBe(204);
      expect(cookieOf(out).line).toMatch(/Max-Age=0/);
    });
  });
});
