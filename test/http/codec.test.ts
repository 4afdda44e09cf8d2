/** The Web UI's codec endpoint: authenticated (bearer token, or the UI's sign-in cookie), CORS for the UI's origin, encode/decode round trip. */
import request from 'supertest';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { CODEC_COOKIE } from '../../src/http/codec-routes.js';
import { createApp } from '../../src/http/app.js';
import { connectClient } from '../../src/temporal/connect.js';
import type { Client } from '@temporalio/client';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
let app: ReturnType<typeof createApp>;
let token: string;
const toJson = (p: ReturnType<typeof defaultPayloadConverter.toPayload>) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
  data: Buffer.from(p.data!).toString('base64'),
});

beforeAll(async () => {
  temporal = await connectClient();
  app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log: { error: () => undefined } });
  token = (await createAdminToken(prisma, `codec-test-${Date.now()}`, 'VIEWER')).token;
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

  test('encode hides the text; decode brings it back', async () => {
    const plain = toJson(defaultPayloadConverter.toPayload({ title: 'Refund button charges twice' }));
    const enc = await request(app)
      .post('/codec/encode')
      .set('authorization', `Bearer ${token}`)
      .send({ payloads: [plain] });
    expect(enc.status).toBe(200);
    expect(Buffer.from(enc.body.payloads[0].data, 'base64').toString('latin1')).not.toContain('Refund');
    const dec = await request(app).post('/codec/decode').set('authorization', `Bearer ${token}`).send(enc.body);
    expect(dec.status).toBe(200);
    expect(dec.body.payloads[0]).toEqual(plain);
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
          .set('authorization', `Bearer ${token}`)
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
      expect(line).toMatch(/Max-Age=\d+/);
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
