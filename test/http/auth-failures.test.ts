/**
 * Brute-forcing tokens (issue #16): failed authentications are counted per client address across
 * every token check (admin API, intake, codec sign-in, /metrics); past the limit the address gets
 * 429 with Retry-After even with a valid token, other addresses and successes are not affected.
 * Client addresses come from X-Forwarded-For (trust proxy on), as behind a proxy.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createApp } from '../../src/http/app.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { issueIntakeKey, upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
let app: ReturnType<typeof createApp>;
let admin: string;
let intakeKey: string;
const suffix = Math.random().toString(36).slice(2, 8);
const LIMIT = 4;

const from = (ip: string) => ({
  admin: (token: string) => request(app).get('/admin/projects').set('x-forwarded-for', ip).set('authorization', `Bearer ${token}`),
  intake: (token: string) =>
    request(app).get(`/api/bugs/00000000-0000-4000-8000-000000000000`).set('x-forwarded-for', ip).set('authorization', `Bearer ${token}`),
  codecLogin: (token: string) => request(app).post('/codec/login').set('x-forwarded-for', ip).send({ token }),
  metrics: (token: string) => request(app).get('/metrics').set('x-forwarded-for', ip).set('authorization', `Bearer ${token}`),
});

beforeAll(async () => {
  temporal = await connectClient();
  app = createApp({
    prisma,
    temporal,
    temporalUiUrl: 'http://localhost:8233',
    log: { error: () => undefined },
    trustProxy: true,
    metricsToken: `metrics-${suffix}`,
    authFailures: { limit: LIMIT, windowSeconds: 120 },
  });
  admin = (await createAdminToken(prisma, `auth-failures-${suffix}`, 'VIEWER')).token;
  const p = await upsertProject(prisma, { key: `authfail-${suffix}`, name: 'Auth failures', repoOwner: 'acme', repoName: `af-${suffix}` });
  intakeKey = await issueIntakeKey(prisma, p.id);
});

afterAll(async () => {
  await prisma.adminToken.deleteMany({ where: { name: { endsWith: suffix } } });
  await prisma.project.deleteMany({ where: { key: `authfail-${suffix}` } });
  await temporal.connection.close();
  await prisma.$disconnect();
});

describe('failed authentications per client address', () => {
  test('failures on every token check add up; past the limit even a valid token gets 429 with Retry-After', async () => {
    const c = from('203.0.113.7');
    expect((await c.admin('wrong-admin-token')).status).toBe(401);
    expect((await c.intake('wrong-intake-key')).status).toBe(401);
    expect((await c.codecLogin('wrong-codec-token')).status).toBe(401);
    expect((await c.metrics('wrong-metrics-token')).status).toBe(401);
    const blocked = await c.admin(admin);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.header['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.header['retry-after'])).toBeLessThanOrEqual(120);
    expect(blocked.body.error).toMatch(/too many failed authentications from this address \(4 in 120 s\)/);
    for (const r of [await c.intake(intakeKey), await c.metrics(`metrics-${suffix}`), await c.codecLogin(admin)]) expect(r.status).toBe(429);
  });

  test('another address is not affected, and successes neither count nor lift anyone', async () => {
    const other = from('203.0.113.8');
    for (let i = 0; i < LIMIT * 3; i++) expect((await other.admin(admin)).status).toBe(200);
    expect((await other.intake(intakeKey)).status).toBe(404); // authenticated: the bug does not exist
    for (let i = 0; i < LIMIT; i++) expect((await other.admin('wrong')).status).toBe(401);
    expect((await other.admin(admin)).status).toBe(429);
    expect((await from('203.0.113.7').admin(admin)).status).toBe(429);
  });

  test('many valid requests in flight at once from one address are all answered (only answered 401s count)', async () => {
    const busy = from('203.0.113.9');
    const answers = await Promise.all(Array.from({ length: LIMIT * 5 }, () => busy.admin(admin)));
    expect(answers.map((r) => r.status)).toEqual(Array(LIMIT * 5).fill(200));
    for (let i = 0; i < LIMIT; i++) expect((await busy.admin('wrong')).status).toBe(401);
    expect((await busy.admin(admin)).status).toBe(429);
  });

  test('probes need no token and are never limited', async () => {
    expect((await request(app).get('/livez').set('x-forwarded-for', '203.0.113.7')).status).toBe(200);
  });
});
