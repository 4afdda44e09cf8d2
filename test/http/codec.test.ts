/** The Web UI's codec endpoint: authenticated, CORS for the UI's origin, encode/decode round trip. */
import request from 'supertest';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
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
    const enc = await request(app).post('/codec/encode').set('authorization', `Bearer ${token}`).send({ payloads: [plain] });
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
});
