/**
 * Admin API for organisation budgets and alerts over real PostgreSQL and Temporal (no worker):
 * budgets CRUD with roles, validation and current spend; alert listing by status; active alerts
 * on the dashboard. Delivery of resolves is covered in test/e2e/org-budgets.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { asToken } from '../support/admin-requests.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config.js';
import { createPrisma, Prisma } from '../../src/db/prisma.js';
import { createApp } from '../../src/http/app.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';
import { raiseAlert } from '../../src/alerts/alert-store.js';
import { recordCrossings } from '../../src/alerts/budget-crossings.js';
import { budgetsWithSpend } from '../../src/alerts/budget-spend.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
let app: ReturnType<typeof createApp>;
const suffix = Math.random().toString(36).slice(2, 8);
const key = `budgets-${suffix}`;
/** Budgets that cross their thresholds here: their alerts stay off `key`'s dashboard. */
const crossKey = `budgets-x-${suffix}`;
const source = `admin-budgets-test-${suffix}`;
const tokens = { admin: '', operator: '', viewer: '' };
let projectId: string;
let crossProjectId: string;

const as = (token: string) => asToken(() => app, token);

beforeAll(async () => {
  temporal = await connectClient();
  app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log: { error: () => undefined } });
  tokens.admin = (await createAdminToken(prisma, `budgets-admin-${suffix}`, 'ADMIN')).token;
  tokens.operator = (await createAdminToken(prisma, `budgets-operator-${suffix}`, 'OPERATOR')).token;
  tokens.viewer = (await createAdminToken(prisma, `budgets-viewer-${suffix}`, 'VIEWER')).token;
  projectId = (await upsertProject(prisma, { key, name: key, repoOwner: 'acme', repoName: key })).id;
  crossProjectId = (await upsertProject(prisma, { key: crossKey, name: crossKey, repoOwner: 'acme', repoName: crossKey })).id;
});

afterAll(async () => {
  // Resolves were handed to Temporal on a queue no worker polls here.
  for await (const w of temporal.workflow.list({ query: `TaskQueue = '${source}' AND ExecutionStatus = 'Running'` })) {
    await temporal.workflow
      .getHandle(w.workflowId)
      .terminate('test over')
      .catch(() => undefined);
  }
  await prisma.alert.deleteMany({ where: { source } });
  await prisma.ledgerEntry.deleteMany({ where: { projectId: { in: [projectId, crossProjectId] } } });
  await prisma.orgBudget.deleteMany({ where: { name: { endsWith: suffix } } });
  await prisma.project.deleteMany({ where: { key: { in: [key, crossKey] } } });
  await prisma.adminToken.deleteMany({ where: { name: { endsWith: suffix } } });
  await temporal.connection.close();
  await prisma.$disconnect();
});

describe('budgets', () => {
  test('admins create, change and delete; viewers read with current spend and percentage', async () => {
    await prisma.ledgerEntry.create({
      data: {
        callKey: `budgets-${randomUUID()}`,
        workflowId: `budgets-${suffix}`,
        projectId,
        bugId: randomUUID(),
        iteration: 1,
        model: 'test',
        inputTokens: 0,
        outputTokens: 0,
        costUsd: new Prisma.Decimal('2.5'),
      },
    });
    const body = { name: `shop monthly ${suffix}`, project: key, period: 'month', limitUsd: 10 };
    expect((await as(tokens.operator).post('/admin/budgets', body)).status).toBe(403);
    const created = await as(tokens.admin).post('/admin/budgets', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      project: key,
      period: 'month',
      limitUsd: 10,
      warnPct: 80,
      criticalPct: 95,
      hardPct: 100,
      enabled: true,
      spentUsd: 2.5,
      percent: 25,
      crossed: [],
    });
    const start = new Date(created.body.periodStart as string);
    expect(start.getUTCDate()).toBe(1);
    expect(start.getUTCHours()).toBe(0);

    const id = created.body.id as string;
    const listed = await as(tokens.viewer).get(`/admin/budgets?project=${key}`);
    expect(listed.status).toBe(200);
    expect(listed.body.budgets).toEqual([expect.objectContaining({ id, spentUsd: 2.5, percent: 25 })]);
    expect((await as(tokens.viewer).get(`/admin/budgets/${id}`)).body).toMatchObject({ id, percent: 25 });

    const changed = await as(tokens.admin).patch(`/admin/budgets/${id}`, { limitUsd: 5, warnPct: 40, period: 'week' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ limitUsd: 5, warnPct: 40, period: 'week', percent: 50 });
    expect((await as(tokens.viewer).patch(`/admin/budgets/${id}`, { limitUsd: 1 })).status).toBe(403);

    expect((await as(tokens.admin).delete(`/admin/budgets/${id}`)).status).toBe(200);
    expect((await as(tokens.viewer).get(`/admin/budgets/${id}`)).status).toBe(404);
    expect((await as(tokens.admin).delete(`/admin/budgets/${id}`)).status).toBe(404);
  });

  test('a global budget has no project and counts every project', async () => {
    const created = await as(tokens.admin).post('/admin/budgets', { name: `org daily ${suffix}`, period: 'day', limitUsd: 1e8 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ project: null, period: 'day' });
    expect(created.body.spentUsd).toBeGreaterThanOrEqual(2.5);
    await as(tokens.admin).delete(`/admin/budgets/${created.body.id}`);
  });

  test('invalid budgets are refused with the reason', async () => {
    const bad = await as(tokens.admin).post('/admin/budgets', { project: key, period: 'year', limitUsd: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p: { path: string }) => p.path).sort()).toEqual(['limitUsd', 'period']);
    const order = await as(tokens.admin).post('/admin/budgets', {
      name: `x ${suffix}`,
      project: key,
      period: 'day',
      limitUsd: 1,
      warnPct: 99,
      criticalPct: 90,
    });
    expect(order.status).toBe(400);
    expect(order.body.error).toMatch(/warnPct must not be above criticalPct/);
    expect((await as(tokens.admin).post('/admin/budgets', { name: `x ${suffix}`, project: `none-${suffix}`, period: 'day', limitUsd: 1 })).status).toBe(404);
    expect((await as(tokens.admin).post('/admin/budgets', { name: `x ${suffix}`, period: 'day', limitUsd: 1, surprise: true })).status).toBe(400);
  });

  test('a limit below one cent is refused: stored with 4 decimals it would be $0, at its hard limit with nothing spent', async () => {
    const tiny = await as(tokens.admin).post('/admin/budgets', { name: `tiny ${suffix}`, project: key, period: 'day', limitUsd: 0.00001 });
    expect(tiny.status).toBe(400);
    expect(tiny.body.problems.map((p: { path: string }) => p.path)).toEqual(['limitUsd']);
    const cent = await as(tokens.admin).post('/admin/budgets', { name: `cent ${suffix}`, project: key, period: 'day', limitUsd: 0.01, enabled: false });
    expect(cent.status).toBe(201);
    expect((await as(tokens.admin).patch(`/admin/budgets/${cent.body.id}`, { limitUsd: 0.004 })).status).toBe(400);
    await as(tokens.admin).delete(`/admin/budgets/${cent.body.id}`);
  });

  test("changing the limit, thresholds or enabled flag clears the period's crossings: a hard limit crossed again stops again", async () => {
    await prisma.ledgerEntry.create({
      data: {
        callKey: `budgets-${randomUUID()}`,
        workflowId: `budgets-${suffix}`,
        projectId: crossProjectId,
        bugId: randomUUID(),
        iteration: 1,
        model: 'test',
        inputTokens: 0,
        outputTokens: 0,
        costUsd: new Prisma.Decimal('3.5'),
      },
    });
    const created = await as(tokens.admin).post('/admin/budgets', { name: `re-cross ${suffix}`, project: crossKey, period: 'day', limitUsd: 1 });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const evaluate = async () =>
      (await recordCrossings(prisma, source, await budgetsWithSpend(prisma, new Date(), { budgetId: id }), new Date())).map(
        (c) => `${c.level}${c.scope ? `→${c.scope}` : ''}`,
      );
    const change = async (body: object) => {
      const res = await as(tokens.admin).patch(`/admin/budgets/${id}`, body);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as { crossed: string[] };
    };
    const stop = `HARD→budget:${crossKey}`;
    expect(await evaluate()).toEqual(['WARN', 'CRITICAL', stop]);
    expect(await evaluate()).toEqual([]); // once per period while nothing changes

    // Raised above the spend (the evaluator lifts the switch), then lowered under it again: stops again.
    expect((await change({ limitUsd: 1000 })).crossed).toEqual([]);
    expect(await evaluate()).toEqual([]);
    expect((await change({ limitUsd: 1 })).crossed).toEqual([]);
    expect(await evaluate()).toEqual(['WARN', 'CRITICAL', stop]);

    // A renamed budget keeps what it crossed.
    expect((await change({ name: `re-cross renamed ${suffix}` })).crossed).toEqual(['WARN', 'CRITICAL', 'HARD']);

    // A higher hard threshold, then the old one back: the levels still reached alert again after each edit.
    await change({ hardPct: 1000 });
    expect(await evaluate()).toEqual(['WARN', 'CRITICAL']);
    await change({ hardPct: 100 });
    expect(await evaluate()).toEqual(['WARN', 'CRITICAL', stop]);

    // Read by an evaluation just before an edit and inserted after it: the old settings record nothing.
    await change({ limitUsd: 2 });
    const stale = await budgetsWithSpend(prisma, new Date(), { budgetId: id });
    await change({ limitUsd: 1.5 });
    expect(await recordCrossings(prisma, source, stale, new Date())).toEqual([]);
    expect(await evaluate()).toEqual(['WARN', 'CRITICAL', stop]);

    // Disabled (the evaluator lifts the switch) and enabled again: presses again.
    expect((await change({ enabled: false })).crossed).toEqual([]);
    expect(await evaluate()).toEqual([]);
    await change({ enabled: true });
    expect(await evaluate()).toEqual(['WARN', 'CRITICAL', stop]);
    await as(tokens.admin).delete(`/admin/budgets/${id}`);
  });

  test('a crossing records a spend above $1,000,000 (limits go up to $1e9)', async () => {
    const created = await as(tokens.admin).post('/admin/budgets', { name: `big ${suffix}`, project: crossKey, period: 'month', limitUsd: 1e9, enabled: false });
    expect(created.status).toBe(201);
    const [b] = await budgetsWithSpend(prisma, new Date(), { budgetId: created.body.id as string, includeDisabled: true });
    // The spend as the evaluator would read it, without writing a billion dollars to the shared ledger.
    const crossings = await recordCrossings(prisma, source, [{ ...b!, spentUsd: 1_234_567_890.125 }], new Date());
    expect(crossings.map((c) => c.level)).toEqual(['WARN', 'CRITICAL', 'HARD']);
    const hard = await prisma.budgetCrossing.findFirstOrThrow({ where: { budgetId: b!.id, level: 'HARD' } });
    expect(hard.spentUsd.toFixed(8)).toBe('1234567890.12500000');
    expect(hard.limitUsd.toNumber()).toBe(1e9);
    await as(tokens.admin).delete(`/admin/budgets/${b!.id}`);
  });
});

describe('budget kill switches from the admin API', () => {
  test('operators may not press budget or budget:<key> (only the budget evaluator does); lifting one is not refused', async () => {
    for (const scope of ['budget', `budget:${key}`]) {
      const res = await as(tokens.operator).post('/admin/kill-switches', { scope, reason: 'my own stop' });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.problems).toEqual([{ path: 'scope', message: expect.stringMatching(/budget evaluator.*global or project:<key>/) }]);
    }
    // Lifting reaches the controller (none is running on this queue, so nothing is active).
    const lift = await as(tokens.admin).post('/admin/kill-switches/deactivate', { scope: `budget:${key}`, reason: 'approved overspend' });
    expect(lift.status, JSON.stringify(lift.body)).toBe(409);
    expect(lift.body.error).toBe(`no kill switch budget:${key} is active`);
  });
});

describe('alerts', () => {
  test('listed by status, newest first; active ones on the dashboard; resolving twice is a conflict', async () => {
    const now = new Date();
    const raise = (rule: string) =>
      raiseAlert(prisma, { source, dedupeKey: `rule:${rule}`, rule, severity: 'warning', summary: `${rule} ${suffix}`, projectId }, now, 60_000);
    const a = (await raise('queue_backup')).alert;
    const again = await raise('queue_backup');
    expect(again).toMatchObject({ action: 'update', alert: { id: a.id, seenCount: 2 } });
    const b = (await raise('high_token_usage')).alert;

    const active = await as(tokens.viewer).get('/admin/alerts?status=active&limit=500');
    expect(active.status).toBe(200);
    const mine = (active.body.alerts as Array<{ id: string; status: string }>).filter((x) => [a.id, b.id].includes(x.id));
    expect(mine.map((x) => x.id)).toEqual([b.id, a.id]);
    expect(mine.every((x) => x.status === 'active')).toBe(true);

    const dash = await as(tokens.viewer).get(`/admin/dashboard?project=${key}`);
    expect(dash.status).toBe(200);
    expect(dash.body.activeAlerts.count).toBe(2);
    expect(dash.body.activeAlerts.latest.map((x: { id: string }) => x.id)).toEqual([b.id, a.id]);

    expect((await as(tokens.viewer).post(`/admin/alerts/${a.id}/resolve`, {})).status).toBe(403);
    const resolved = await as(tokens.operator).post(`/admin/alerts/${a.id}/resolve`, { reason: 'known' });
    expect(resolved.status).toBe(200);
    expect(resolved.body.alert).toMatchObject({ id: a.id, status: 'resolved' });
    expect((await as(tokens.operator).post(`/admin/alerts/${a.id}/resolve`, {})).status).toBe(409);
    expect((await as(tokens.operator).post(`/admin/alerts/${randomUUID()}/resolve`, {})).status).toBe(404);
    const resolvedList = await as(tokens.viewer).get('/admin/alerts?status=resolved&limit=500');
    expect(resolvedList.body.alerts.map((x: { id: string }) => x.id)).toContain(a.id);
    expect((await as(tokens.viewer).get('/admin/alerts?status=open')).status).toBe(400);

    // Resolved, the same condition raises a new alert rather than reopening the old one.
    const fresh = await raise('queue_backup');
    expect(fresh.action).toBe('create');
    expect(fresh.alert.id).not.toBe(a.id);
  });

  test('the OpenAPI document lists the new routes with their roles', async () => {
    const doc = await as(tokens.viewer).get('/admin/openapi.json');
    expect(doc.body.paths['/admin/budgets'].post['x-required-role']).toBe('ADMIN');
    expect(doc.body.paths['/admin/budgets'].get['x-required-role']).toBe('VIEWER');
    expect(doc.body.paths['/admin/alerts/{id}/resolve'].post['x-required-role']).toBe('OPERATOR');
  });
});
