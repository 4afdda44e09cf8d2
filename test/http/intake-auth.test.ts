/**
 * Intake credentials and limits on real PostgreSQL + Temporal: HMAC-signed requests, naming the
 * project by key or repository (422 unknown, 403 someone else's), the per-key rate limit (429),
 * and one bug + one workflow for identical submissions with the same external id.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createApp } from '../../src/http/app.js';
import { signIntakeRequest } from '../../src/intake/hmac.js';
import { issueIntakeKey, upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
let app: ReturnType<typeof createApp>;
let key: string;
let otherProjectKey: string;
const suffix = Math.random().toString(36).slice(2, 8);
const keys = [`auth-${suffix}`, `auth-other-${suffix}`];
const report = { title: 'Login loops', description: 'After login the page reloads forever.' };

function makeApp(perSecond: number, burst: number) {
  return createApp({
    prisma,
    temporal,
    temporalUiUrl: 'http://localhost:8233',
    log: { error: () => undefined },
    intake: { rateLimit: { perSecond, burst }, hmacMaxSkewSeconds: 300, emailRoutes: [] },
  });
}

beforeAll(async () => {
  temporal = await connectClient();
  app = makeApp(1000, 1000);
  const p = await upsertProject(prisma, { key: keys[0]!, name: 'Auth', repoOwner: 'Acme', repoName: `web-${suffix}` });
  await upsertProject(prisma, { key: keys[1]!, name: 'Other', repoOwner: 'acme', repoName: `api-${suffix}` });
  key = await issueIntakeKey(prisma, p.id);
  otherProjectKey = keys[1]!;
});

afterAll(async () => {
  const bugs = await prisma.bugReport.findMany({ where: { project: { key: { in: keys } } } });
  for (const b of bugs)
    await temporal.workflow
      .getHandle(b.workflowId)
      .terminate('test cleanup')
      .catch(() => undefined);
  await prisma.project.deleteMany({ where: { key: { in: keys } } });
  await temporal.connection.close();
  await prisma.$disconnect();
});

const signedPost = (body: object, headers = (raw: string) => signIntakeRequest(key, raw)) => {
  const raw = JSON.stringify(body);
  return request(app).post('/api/bugs').set(headers(raw)).set('content-type', 'application/json').send(raw);
};

describe('HMAC-signed intake', () => {
  test('a correctly signed report is filed; its status is readable with a signed GET', async () => {
    const res = await signedPost({ ...report, externalId: `hmac-${suffix}` });
    expect(res.status).toBe(202);
    const status = await request(app).get(res.body.statusUrl).set(signIntakeRequest(key, ''));
    expect(status.status).toBe(200);
    expect(status.body.bugId).toBe(res.body.bugId);
  });

  test('tampered body, stale timestamp and wrong key id are 401 with the reason', async () => {
    const tampered = await signedPost({ ...report, externalId: `t-${suffix}` }, (raw) => signIntakeRequest(key, raw.replace('loops', 'works')));
    expect(tampered.status).toBe(401);
    expect(tampered.body.error).toMatch(/signature does not match/);
    const stale = await signedPost({ ...report, externalId: `s-${suffix}` }, (raw) => signIntakeRequest(key, raw, Math.floor(Date.now() / 1000) - 301));
    expect(stale.body.error).toMatch(/stale or future timestamp/);
    const noKey = await signedPost(report, (raw) => ({ ...signIntakeRequest(key, raw), 'x-bugfix-key-id': '0000000000000000' }));
    expect(noKey.body.error).toMatch(/unknown key id/);
    expect(await prisma.bugReport.count({ where: { externalId: { in: [`t-${suffix}`, `s-${suffix}`] } } })).toBe(0);
  });
});

test('a captured signed request replayed within the skew files nothing new, whatever its Idempotency-Key', async () => {
  const raw = JSON.stringify({ ...report, title: `Replayed ${suffix}` });
  const signature = signIntakeRequest(key, raw);
  const send = (idempotencyKey: string) =>
    request(app).post('/api/bugs').set(signature).set('idempotency-key', idempotencyKey).set('content-type', 'application/json').send(raw);
  const first = await send('one');
  expect(first.status).toBe(202);
  const replayed = await send('two');
  expect(replayed.status).toBe(200);
  expect(replayed.body).toMatchObject({ bugId: first.body.bugId, duplicate: true });
  expect(await prisma.bugReport.count({ where: { title: `Replayed ${suffix}` } })).toBe(1);
});

describe('naming the project', () => {
  const post = (body: object) => request(app).post('/api/bugs').set('authorization', `Bearer ${key}`).send(body);

  test('by key or by repository (owner/name or GitHub URL, any case)', async () => {
    expect((await post({ ...report, project: keys[0], externalId: `pk-${suffix}` })).status).toBe(202);
    expect((await post({ ...report, repository: `acme/WEB-${suffix}`, externalId: `repo-${suffix}` })).status).toBe(202);
    expect((await post({ ...report, repository: `https://github.com/Acme/web-${suffix}.git`, externalId: `url-${suffix}` })).status).toBe(202);
  });

  test('unknown project → 422, another project → 403, nothing filed', async () => {
    const unknown = await post({ ...report, project: `ghost-${suffix}`, externalId: `u1-${suffix}` });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toBe(`unknown project: ghost-${suffix}`);
    expect((await post({ ...report, repository: `acme/ghost-${suffix}`, externalId: `u2-${suffix}` })).status).toBe(422);
    const foreign = await post({ ...report, project: otherProjectKey, externalId: `f-${suffix}` });
    expect(foreign.status).toBe(403);
    expect(await prisma.bugReport.count({ where: { externalId: { in: [`u1-${suffix}`, `u2-${suffix}`, `f-${suffix}`] } } })).toBe(0);
  });
});

test('identical submissions with the same external id: one bug, one workflow', async () => {
  const body = { ...report, externalId: `same-${suffix}` };
  const answers = await Promise.all([1, 2, 3].map(() => request(app).post('/api/bugs').set('authorization', `Bearer ${key}`).send(body)));
  expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 202]);
  expect(new Set(answers.map((a) => a.body.bugId)).size).toBe(1);
  expect(new Set(answers.map((a) => a.body.workflowId)).size).toBe(1);
  expect(await prisma.bugReport.count({ where: { externalId: body.externalId } })).toBe(1);
  const runs: string[] = [];
  for await (const w of temporal.workflow.list({ query: `WorkflowId = '${answers[0]!.body.workflowId}'` })) runs.push(w.runId);
  expect(runs).toHaveLength(1);
});

test('rate limit per key: 429 with Retry-After once the burst is spent, other keys unaffected', async () => {
  const limited = makeApp(0.01, 2);
  const other = await issueIntakeKey(prisma, (await prisma.project.findUniqueOrThrow({ where: { key: keys[0] } })).id, 'second');
  const get = (k: string) => request(limited).get('/api/bugs/00000000-0000-4000-8000-000000000000').set('authorization', `Bearer ${k}`);
  expect((await get(key)).status).toBe(404);
  expect((await get(key)).status).toBe(404);
  const third = await get(key);
  expect(third.status).toBe(429);
  expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
  expect((await get(other)).status).toBe(404);
});
