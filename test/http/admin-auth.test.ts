/**
 * Every /admin route, taken from the app's own route table, rejects a missing token, a wrong
 * token, a revoked token and every role below the one it needs; with that role it gets past auth.
 * A route added to the table is covered without touching this file.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createApp } from '../../src/http/app.js';
import { createAdminToken, ROLES, type Role } from '../../src/http/admin/admin-tokens.js';
import { adminRouter, adminRoutes } from '../../src/http/admin/router.js';
import { connectClient } from '../../src/temporal/connect.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
let app: ReturnType<typeof createApp>;
const tokens = {} as Record<Role, string>;
let revoked: string;
const suffix = Math.random().toString(36).slice(2, 8);

/** Path parameters get harmless values that exist nowhere. */
const concrete = (path: string) =>
  `/admin${path
    .replace(/:id\b/g, '00000000-0000-4000-8000-000000000000')
    .replace(/:key\b/g, `nope-${suffix}`)
    .replace(/:fix\b/g, `nope-${suffix}`)}`;

function call(method: string, path: string, token?: string) {
  const req = request(app)[method as 'get'](concrete(path));
  return token === undefined ? req : req.set('authorization', `Bearer ${token}`);
}

beforeAll(async () => {
  temporal = await connectClient();
  app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log: { error: () => undefined } });
  for (const role of ROLES) tokens[role] = (await createAdminToken(prisma, `auth-test-${role}-${suffix}`, role)).token;
  const r = await createAdminToken(prisma, `auth-test-revoked-${suffix}`, 'ADMIN');
  await prisma.adminToken.update({ where: { id: r.id }, data: { revokedAt: new Date() } });
  revoked = r.token;
});

afterAll(async () => {
  await prisma.adminToken.deleteMany({ where: { name: { endsWith: suffix } } });
  await temporal.connection.close();
  await prisma.$disconnect();
});

describe('admin route table', () => {
  test('the router serves exactly the routes of the table', () => {
    const mounted = adminRouter({ prisma, temporal, temporalUiUrl: '', log: { error: () => undefined } })
      .stack.filter((l) => l.route)
      .flatMap((l) => Object.keys((l.route as unknown as { methods: Record<string, boolean> }).methods).map((m) => `${m} ${l.route!.path}`));
    expect(mounted.sort()).toEqual(adminRoutes.map((r) => `${r.method} ${r.path}`).sort());
    expect(adminRoutes.length).toBeGreaterThanOrEqual(15);
  });

  test('every role is ordered and every route names one', () => {
    for (const r of adminRoutes) expect(ROLES).toContain(r.role);
  });
});

describe.each(adminRoutes.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))('%s', (_name, route) => {
  test('rejects a missing token with 401', async () => {
    const res = await call(route.method, route.path);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/missing admin token/);
  });

  test('rejects a wrong token and a revoked token with 401', async () => {
    expect((await call(route.method, route.path, `bfa_wrong_${suffix}`)).status).toBe(401);
    expect((await call(route.method, route.path, revoked)).status).toBe(401);
    expect((await call(route.method, route.path, '')).status).toBe(401);
  });

  // VIEWER is the weakest role: its routes have nothing weaker to reject.
  const weaker = ROLES.slice(0, ROLES.indexOf(route.role));
  if (weaker.length > 0) {
    test(`rejects roles below ${route.role} with 403`, async () => {
      for (const role of weaker) {
        const res = await call(route.method, route.path, tokens[role]);
        expect(res.status, role).toBe(403);
      }
    });
  }

  test(`lets ${route.role} past authentication`, async () => {
    const res = await call(route.method, route.path, tokens[route.role]);
    expect([401, 403]).not.toContain(res.status);
    expect(res.status).toBeLessThan(500);
  });

  // Issue #16: PostgreSQL cannot store U+0000 (nor Prisma send an unpaired surrogate); either was a 500.
  test('refuses NUL and unpaired surrogates in query, body and path with a 400 naming where', async () => {
    const named = (res: request.Response) => [res.status, res.body.problems?.map((p: { path: string }) => p.path)];
    const withQuery = await request(app)
      [route.method as 'get'](`${concrete(route.path)}?q=a%00b`)
      .set('authorization', `Bearer ${tokens.ADMIN}`);
    expect(named(withQuery)).toEqual([400, ['(query).q']]);
    if (route.method !== 'get' && route.method !== 'delete') {
      const withBody = await call(route.method, route.path, tokens.ADMIN).send({ name: 'ok', reason: { nested: ['x', 'half \ud83d'] } });
      expect(named(withBody)).toEqual([400, ['reason.nested.1']]);
    }
    if (route.path.includes(':')) {
      const inPath = await request(app)
        [route.method as 'get'](concrete(route.path.replace(/:\w+/, 'a%00b')))
        .set('authorization', `Bearer ${tokens.ADMIN}`);
      expect(named(inPath)).toEqual([400, ['(path)']]);
    }
  });
});

test('an unknown /admin path needs a token too', async () => {
  expect((await request(app).get('/admin/nothing-here')).status).toBe(401);
  expect((await request(app).get('/admin/nothing-here').set('authorization', `Bearer ${tokens.VIEWER}`)).status).toBe(404);
});
