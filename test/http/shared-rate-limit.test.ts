/**
 * Rate limits across API processes (issue #17): two apps, each with its own database pool as two
 * API processes have, share one PostgreSQL. A limit of N requests holds across both: requests
 * split between them, fired at once, and exactly N pass; the rest get 429 with Retry-After and a
 * reason. Buckets that are full again are deleted, so the table does not grow with every sender.
 */
import request from 'supertest';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createApp } from '../../src/http/app.js';
import { SharedRateLimiter } from '../../src/intake/shared-rate-limit.js';
import { issueIntakeKey, upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';

const BURST = 10;
const REQUESTS = 40;
const pools = [createPrisma(loadConfig().DATABASE_URL), createPrisma(loadConfig().DATABASE_URL)];
let temporal: Client;
let key: string;
const suffix = Math.random().toString(36).slice(2, 8);

/** As `npm run api` builds it, twice: one limit per key, a refill too slow to matter here. */
const apiProcess = (prisma: (typeof pools)[number]) =>
  createApp({
    prisma,
    temporal,
    temporalUiUrl: 'http://localhost:8233',
    log: { error: () => undefined },
    intake: { rateLimit: { perSecond: 0.001, burst: BURST }, hmacMaxSkewSeconds: 300, emailRoutes: [] },
  });

beforeAll(async () => {
  temporal = await connectClient();
  const p = await upsertProject(pools[0]!, { key: `shared-limit-${suffix}`, name: 'Shared limit', repoOwner: 'acme', repoName: `sl-${suffix}` });
  key = await issueIntakeKey(pools[0]!, p.id);
});

afterAll(async () => {
  await pools[0]!.project.deleteMany({ where: { key: `shared-limit-${suffix}` } });
  await temporal.connection.close();
  await Promise.all(pools.map((p) => p.$disconnect()));
});

test('a limit of N per intake key holds across two API processes: exactly N of a burst split between them pass', async () => {
  const apps = pools.map(apiProcess);
  // A status read of an unknown bug: authenticated and limited like a filing, without filing.
  const answers = await Promise.all(
    Array.from({ length: REQUESTS }, (_, i) =>
      request(apps[i % 2]!)
        .get('/api/bugs/00000000-0000-4000-8000-000000000000')
        .set('authorization', `Bearer ${key}`),
    ),
  );
  const passed = answers.filter((a) => a.status === 404);
  const refused = answers.filter((a) => a.status === 429);
  expect(passed).toHaveLength(BURST);
  expect(refused).toHaveLength(REQUESTS - BURST);
  for (const r of refused) {
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(r.body.error).toMatch(/^rate limit of this intake key exceeded; retry in \d+ s$/);
  }
  // The bucket is spent for both processes (per process, each would have let BURST through: 2 × BURST).
  for (const app of apps)
    expect((await request(app).get('/api/bugs/00000000-0000-4000-8000-000000000000').set('authorization', `Bearer ${key}`)).status).toBe(429);
});

test('buckets that are full again are deleted now and then; live ones stay', async () => {
  const prisma = pools[1]!;
  const stale = `test-sweep:${suffix}-stale`;
  await prisma.rateLimitBucket.create({ data: { key: stale, tokens: 0, at: new Date(Date.now() - 3_600_000), fullAt: new Date(Date.now() - 60_000) } });
  const limiter = new SharedRateLimiter(prisma, 'test-sweep', { perSecond: 0.001, burst: 1 });
  expect(await limiter.take(`${suffix}-live`)).toEqual({ ok: true });
  expect(await limiter.take(`${suffix}-live`)).toMatchObject({ ok: false });
  await expect.poll(() => prisma.rateLimitBucket.count({ where: { key: stale } })).toBe(0);
  expect(await prisma.rateLimitBucket.count({ where: { key: `test-sweep:${suffix}-live` } })).toBe(1);
  await prisma.rateLimitBucket.deleteMany({ where: { key: { startsWith: 'test-sweep:' } } });
});
