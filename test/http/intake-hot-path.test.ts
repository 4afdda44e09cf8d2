/**
 * The intake's hot path (src/db/sql.ts, src/intake/intake-gate.ts) on real PostgreSQL + Temporal:
 * nothing it reads is cached, so a revoked key and a pressed kill switch count from the very next
 * request, for bearer and signed requests alike; a client without its own pool (disconnected
 * once) runs the same statements through Prisma and answers the same.
 */
import request from 'supertest';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createApp } from '../../src/http/app.js';
import { signIntakeRequest } from '../../src/intake/hmac.js';
import { hashKey } from '../../src/intake/keys.js';
import { issueIntakeKey, upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';
import { endProjectFixes } from '../support/project-cleanup.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
const suffix = Math.random().toString(36).slice(2, 8);
const projectKey = `hot-${suffix}`;
let temporal: Client;
let projectId: string;

const appOn = (db: typeof prisma) =>
  createApp({
    prisma: db,
    temporal,
    temporalUiUrl: 'http://localhost:8233',
    log: { error: () => undefined },
    intake: { rateLimit: { perSecond: 1000, burst: 1000 }, hmacMaxSkewSeconds: 300, emailRoutes: [] },
  });
let n = 0;
const report = () => ({ title: 'Cart total is wrong', description: 'Totals skip the discount.', externalId: `hot-${suffix}-${n++}` });
const bearerPost = (app: ReturnType<typeof createApp>, key: string) => request(app).post('/api/bugs').set('authorization', `Bearer ${key}`).send(report());
const signedPost = (app: ReturnType<typeof createApp>, key: string) => {
  const raw = JSON.stringify(report());
  return request(app).post('/api/bugs').set(signIntakeRequest(key, raw)).set('content-type', 'application/json').send(raw);
};

beforeAll(async () => {
  temporal = await connectClient();
  projectId = (await upsertProject(prisma, { key: projectKey, name: 'Hot path', repoOwner: 'acme', repoName: `hot-${suffix}` })).id;
});

afterAll(async () => {
  await prisma.activeKillSwitch.deleteMany({ where: { taskQueue: taskQueues.main } });
  await endProjectFixes(prisma, temporal, projectKey);
  await temporal.connection.close();
  await prisma.$disconnect();
});

test('a revoked key is refused by the next request, bearer or signed, and takes no token', async () => {
  const app = appOn(prisma);
  const key = await issueIntakeKey(prisma, projectId, 'revoked-soon');
  expect((await bearerPost(app, key)).status).toBe(202);
  expect((await signedPost(app, key)).status).toBe(202);
  const row = await prisma.intakeKey.update({ where: { keyHash: hashKey(key) }, data: { revokedAt: new Date() } });
  const bucket = () => prisma.rateLimitBucket.findUnique({ where: { key: `intake-key:${row.id}` } });
  const before = await bucket();
  const refused = await bearerPost(app, key);
  expect(refused.status).toBe(401);
  expect(refused.body.error).toMatch(/revoked/);
  expect((await signedPost(app, key)).status).toBe(401);
  expect((await bucket())?.at).toEqual(before?.at);
});

test('a pressed kill switch refuses the next report (409 with its reason), a lifted one admits it', async () => {
  const app = appOn(prisma);
  const key = await issueIntakeKey(prisma, projectId, 'switches');
  expect((await bearerPost(app, key)).status).toBe(202);
  // The table is the source of truth for admission (src/safety/kill-switch-client.ts).
  await prisma.activeKillSwitch.create({
    data: { taskQueue: taskQueues.main, scope: `project:${projectKey}`, reason: 'runaway spend', actor: `vitest-${suffix}` },
  });
  const before = await prisma.bugReport.count({ where: { projectId } });
  for (const refused of [await bearerPost(app, key), await signedPost(app, key)]) {
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(new RegExp(`kill switch project:${projectKey} is active \\(by vitest-${suffix}\\): runaway spend`));
  }
  expect(await prisma.bugReport.count({ where: { projectId } })).toBe(before);
  // Another project's switch does not cover this one.
  await prisma.activeKillSwitch.update({
    where: { taskQueue_scope: { taskQueue: taskQueues.main, scope: `project:${projectKey}` } },
    data: { scope: `project:other-${suffix}` },
  });
  expect((await bearerPost(app, key)).status).toBe(202);
  await prisma.activeKillSwitch.create({ data: { taskQueue: taskQueues.main, scope: 'global', reason: 'incident', actor: `vitest-${suffix}` } });
  expect((await bearerPost(app, key)).status).toBe(409);
  await prisma.activeKillSwitch.deleteMany({ where: { taskQueue: taskQueues.main } });
  expect((await bearerPost(app, key)).status).toBe(202);
  expect((await signedPost(app, key)).status).toBe(202);
});

test('a client disconnected once (no pool of its own) runs the hot path through Prisma and answers the same', async () => {
  const db = createPrisma(loadConfig().DATABASE_URL);
  try {
    await db.$disconnect();
    const app = appOn(db);
    const key = await issueIntakeKey(prisma, projectId, 'fallback');
    const body = report();
    const post = () => request(app).post('/api/bugs').set('authorization', `Bearer ${key}`).send(body);
    const first = await post();
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    // The same report again: the insert does nothing and the twin answers.
    const again = await post();
    expect(again.status).toBe(200);
    expect(again.body.bugId).toBe(first.body.bugId);
    await prisma.activeKillSwitch.create({ data: { taskQueue: taskQueues.main, scope: 'global', reason: 'incident', actor: `vitest-${suffix}` } });
    expect((await bearerPost(app, key)).status).toBe(409);
    await prisma.activeKillSwitch.deleteMany({ where: { taskQueue: taskQueues.main } });
    await prisma.intakeKey.update({ where: { keyHash: hashKey(key) }, data: { revokedAt: new Date() } });
    expect((await bearerPost(app, key)).status).toBe(401);
  } finally {
    await db.$disconnect();
  }
});
