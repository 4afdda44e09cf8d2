/** GET /admin/dashboard over real PostgreSQL and Temporal, narrowed to a project this test owns. */
import request from 'supertest';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrisma, Prisma } from '../../src/db/prisma.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { createApp } from '../../src/http/app.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
let app: ReturnType<typeof createApp>;
let token: string;
const key = `dash-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  temporal = await connectClient();
  app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log: { error: () => undefined } });
  token = (await createAdminToken(prisma, `dash-${key}`, 'VIEWER')).token;
  const project = await upsertProject(prisma, { key, name: 'Dash', repoOwner: 'acme', repoName: 'dash' });
  const now = Date.now();
  const bug = (name: string, status: 'PR_CREATED' | 'FAILED', tookMs: number) =>
    prisma.bugReport.create({
      data: {
        projectId: project.id,
        externalId: name,
        workflowId: `bugfix-${key}-${name}`,
        title: name,
        description: name,
        status,
        createdAt: new Date(now - tookMs),
        completedAt: new Date(now),
      },
    });
  const [a] = await Promise.all([bug('a', 'PR_CREATED', 60_000), bug('b', 'PR_CREATED', 120_000), bug('c', 'FAILED', 30_000)]);
  const ledger = (iteration: number, model: string, usd: string) =>
    prisma.ledgerEntry.create({
      data: {
        callKey: `bugfix-${key}-a#${iteration}`,
        workflowId: `bugfix-${key}-a`,
        projectId: project.id,
        bugId: a.id,
        iteration,
        model,
        inputTokens: 10,
        outputTokens: 5,
        costUsd: new Prisma.Decimal(usd),
      },
    });
  await Promise.all([ledger(1, 'claude-sonnet-5-5', '0.01250000'), ledger(2, 'claude-haiku-4-5', '0.00025000')]);
});

afterAll(async () => {
  await temporal.connection.close();
  await prisma.$disconnect();
});

describe('/admin/dashboard', () => {
  test('outcomes, time to PR and spend for one project', async () => {
    const res = await request(app).get(`/admin/dashboard?project=${key}`).set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      project: key,
      queue: { running: 0, waitingToStart: 0 },
      last24h: { prsOpened: 2, failed: 1, cancelled: 0, successRate: 0.6667, timeToPr: { count: 2, p50Ms: 90_000, p95Ms: 117_000 } },
      spend: {
        today: { totalUsd: 0.01275, calls: 2, byProject: { [key]: 0.01275 }, byModel: { 'claude-sonnet-5-5': 0.0125, 'claude-haiku-4-5': 0.00025 } },
        month: { totalUsd: 0.01275 },
      },
      sources: { temporal: true },
    });
  });

  test('a malformed project filter is a 400, no token a 401', async () => {
    expect(
      (
        await request(app)
          .get(`/admin/dashboard?project=${encodeURIComponent("x' OR 1=1")}`)
          .set('authorization', `Bearer ${token}`)
      ).status,
    ).toBe(400);
    expect((await request(app).get('/admin/dashboard')).status).toBe(401);
  });
});
