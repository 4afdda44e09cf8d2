/**
 * The intake endpoint against real PostgreSQL and a real Temporal server: auth, validation with a
 * reason per field, size limit, idempotent retries, and status reads scoped to the caller's key.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createApp } from '../../src/http/app.js';
import { fileBug, ProjectGoneError } from '../../src/intake/file-bug.js';
import { issueIntakeKey, upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';
import type { Client } from '@temporalio/client';
import { BugIdKey } from '../../src/domain/search-attributes.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
let app: ReturnType<typeof createApp>;
let keyA: string;
let keyB: string;
const suffix = Math.random().toString(36).slice(2, 8);
const report = { title: 'Checkout button does nothing', description: 'Clicking pay has no effect.', priority: 'HIGH' };

beforeAll(async () => {
  temporal = await connectClient();
  app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log: { error: () => undefined } });
  const a = await upsertProject(prisma, { key: `intake-a-${suffix}`, name: 'A', repoOwner: 'acme', repoName: 'a' });
  const b = await upsertProject(prisma, { key: `intake-b-${suffix}`, name: 'B', repoOwner: 'acme', repoName: 'b' });
  keyA = await issueIntakeKey(prisma, a.id);
  keyB = await issueIntakeKey(prisma, b.id);
});

afterAll(async () => {
  // No worker runs in this file: end the fixes it started so nothing lingers on the server.
  const ids = await prisma.bugReport.findMany({ where: { project: { key: { in: [`intake-a-${suffix}`, `intake-b-${suffix}`] } } } });
  for (const bug of ids) await temporal.workflow.getHandle(bug.workflowId).terminate('test cleanup').catch(() => undefined);
  await temporal.connection.close();
  await prisma.$disconnect();
});

describe('POST /api/bugs', () => {
  test('rejects missing and unknown keys with 401', async () => {
    const none = await request(app).post('/api/bugs').send(report);
    expect(none.status).toBe(401);
    expect(none.body.error).toMatch(/missing API key/);
    const wrong = await request(app).post('/api/bugs').set('authorization', 'Bearer bfk_nope').send(report);
    expect(wrong.status).toBe(401);
  });

  test('lists every invalid field with 400', async () => {
    const res = await request(app).post('/api/bugs').set('authorization', `Bearer ${keyA}`).send({ title: 'x', priority: 'URGENT' });
    expect(res.status).toBe(400);
    expect(res.body.problems.map((p: { path: string }) => p.path).sort()).toEqual(['description', 'priority', 'title']);
  });

  test('rejects bodies that are not JSON (400) or too large (413)', async () => {
    const bad = await request(app).post('/api/bugs').set('authorization', `Bearer ${keyA}`).set('content-type', 'application/json').send('{"title":');
    expect(bad.status).toBe(400);
    const huge = await request(app).post('/api/bugs').set('authorization', `Bearer ${keyA}`).send({ ...report, errorLogs: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
  });

  test('files once: a retry with the same Idempotency-Key returns the same bug and workflow', async () => {
    const key = `idem-${suffix}`;
    const first = await request(app).post('/api/bugs').set('authorization', `Bearer ${keyA}`).set('idempotency-key', key).send(report);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ workflowId: `bugfix-intake-a-${suffix}-${key}`, statusUrl: `/api/bugs/${first.body.bugId}`, duplicate: false });
    const again = await request(app).post('/api/bugs').set('authorization', `Bearer ${keyA}`).set('idempotency-key', key).send(report);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ bugId: first.body.bugId, workflowId: first.body.workflowId, duplicate: true });
    expect(await prisma.bugReport.count({ where: { externalId: key } })).toBe(1);
    const described = await temporal.workflow.getHandle(first.body.workflowId).describe();
    expect(described.status.name).toBe('RUNNING');
    expect(described.typedSearchAttributes.get(BugIdKey)).toBe(first.body.bugId);

    const status = await request(app).get(first.body.statusUrl).set('authorization', `Bearer ${keyA}`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ bugId: first.body.bugId, status: 'QUEUED', workflow: { status: 'RUNNING', phase: 'queued' }, details: null });
    // Another project's key cannot read it.
    expect((await request(app).get(first.body.statusUrl).set('authorization', `Bearer ${keyB}`)).status).toBe(404);
  });
});

describe('fileBug', () => {
  test('a project deleted after authentication is a clear ProjectGoneError, not a 500', async () => {
    const gone = { id: '00000000-0000-4000-8000-000000000000', key: `gone-${suffix}` };
    await expect(fileBug({ prisma, temporal, temporalUiUrl: 'http://localhost:8233' }, gone, { ...report, priority: 'HIGH', source: 'api' })).rejects.toThrow(ProjectGoneError);
  });
});
