/**
 * Requests the body parsers or the codec cookie cannot read are the client's fault: a 4xx with
 * the reason, never a 500.
 */
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { CODEC_COOKIE } from '../../src/http/codec-routes.js';
import { createApp } from '../../src/http/app.js';
import { connectClient } from '../../src/temporal/connect.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
const EMAIL_TOKEN = 'malformed-email-token';
let temporal: Client;
let app: ReturnType<typeof createApp>;
const unhandled: unknown[] = [];

beforeAll(async () => {
  temporal = await connectClient();
  app = createApp({
    prisma,
    temporal,
    temporalUiUrl: 'http://localhost:8233',
    log: { error: (obj) => void unhandled.push(obj) },
    intake: { rateLimit: { perSecond: 100, burst: 100 }, hmacMaxSkewSeconds: 300, emailToken: EMAIL_TOKEN, emailRoutes: [] },
  });
});
// None of these is an unhandled error (it would be logged as one, and answered 500).
afterEach(() => {
  expect(unhandled).toEqual([]);
  unhandled.length = 0;
});

afterAll(async () => {
  await temporal.connection.close();
  await prisma.$disconnect();
});

describe('bodies the parsers refuse', () => {
  test('an unsupported JSON charset is 415', async () => {
    for (const path of ['/api/bugs', '/codec/decode', '/api/intake/email']) {
      const res = await request(app)
        .post(path)
        .set('authorization', `Bearer ${EMAIL_TOKEN}`)
        .set('content-type', 'application/json; charset=latin1')
        .send('{"title":"x"}');
      expect(res.status, path).toBe(415);
      expect(res.body.error).toMatch(/unsupported charset/i);
    }
  });

  test('an unsupported content encoding is 415', async () => {
    const res = await request(app).post('/api/bugs').set('content-type', 'application/json').set('content-encoding', 'bogus').send('{"title":"x"}');
    expect(res.status).toBe(415);
    expect(res.body.error).toMatch(/unsupported content encoding/i);
  });

  test('a form with too many parameters is 413', async () => {
    const form = Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&');
    const res = await request(app).post('/api/intake/webhook').set('content-type', 'application/x-www-form-urlencoded').send(form);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/too many parameters/i);
  });
});

describe('the codec cookie', () => {
  test('a value that is not percent-encoding is no cookie: 401, not 500', async () => {
    for (const value of ['%', '%E0%A4%A', 'bfa_%zz']) {
      const res = await request(app)
        .post('/codec/decode')
        .set('origin', 'http://localhost:8233')
        .set('cookie', `${CODEC_COOKIE}=${value}`)
        .send({ payloads: [] });
      expect(res.status, value).toBe(401);
    }
  });
});
