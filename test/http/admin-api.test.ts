/**
 * The admin API against real PostgreSQL and Temporal (no worker in this file: fixes stay queued):
 * projects CRUD with intake keys, fixes from visibility with filters, fix detail with ledger and
 * timeline, steering signals, costs, and the OpenAPI document generated from the route table.
 */
import request from 'supertest';
import { asToken } from '../support/admin-requests.js';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { fixWorkflowId } from '../../src/domain/fix/ids.js';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config.js';
import { createPrisma, Prisma } from '../../src/db/prisma.js';
import { createApp } from '../../src/http/app.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { adminRoutes } from '../../src/http/admin/router.js';
import { connectClient } from '../../src/temporal/connect.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
let app: ReturnType<typeof createApp>;
let admin: string;
let operator: string;
const suffix = Math.random().toString(36).slice(2, 8);
const key = `admin-${suffix}`;

const as = (token: string) => asToken(() => app, token);

beforeAll(async () => {
  temporal = await connectClient();
  app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log: { error: () => undefined } });
  admin = (await createAdminToken(prisma, `api-admin-${suffix}`, 'ADMIN')).token;
  operator = (await createAdminToken(prisma, `api-operator-${suffix}`, 'OPERATOR')).token;
});

afterAll(async () => {
  const bugs = await prisma.bugReport.findMany({ where: { project: { key } } });
  for (const b of bugs)
    await temporal.workflow
      .getHandle(b.workflowId)
      .terminate('test cleanup')
      .catch(() => undefined);
  await prisma.project.deleteMany({ where: { key } });
  await prisma.ledgerEntry.deleteMany({ where: { workflowId: { startsWith: `bugfix-${key}.` } } });
  await prisma.adminToken.deleteMany({ where: { name: { endsWith: suffix } } });
  await temporal.connection.close();
  await prisma.$disconnect();
});

describe('projects', () => {
  test('create, read, change, list keys, revoke, with settings validated', async () => {
    const created = await as(admin).post('/admin/projects', { key, name: 'Admin test', repoOwner: 'acme', repoName: 'shop', validation: { test: 'npm test' } });
    expect(created.status).toBe(201);
    expect((await as(admin).post('/admin/projects', { key, name: 'again', repoOwner: 'acme', repoName: 'shop' })).status).toBe(409);

    // A label name over 50 characters is one GitHub would refuse at delivery.
    const bad = await as(admin).patch(`/admin/projects/${key}`, {
      budgets: { maxCostUsd: -1 },
      notifications: { slack: { webhookUrl: 'not a url' } },
      prLabels: ['ok', 'x'.repeat(51)],
      reproduction: 'always',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p: { path: string }) => p.path).sort()).toEqual([
      'budgets.maxCostUsd',
      'notifications.slack.webhookUrl',
      'prLabels.1',
      'reproduction',
    ]);
    expect(created.body.reproduction).toBe('preferred');

    const changed = await as(admin).patch(`/admin/projects/${key}`, {
      defaultBranch: 'develop',
      budgets: { maxCostUsd: 2.5, maxIterations: 12 },
      scopeLimits: { maxFilesChanged: 5, forbiddenPaths: ['.github/'] },
      notifications: { webhook: { url: 'https://hooks.example.com/x', secret: 'a-very-long-secret-value' } },
      prLabels: ['bugfix'],
      reproduction: 'required',
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      defaultBranch: 'develop',
      reproduction: 'required',
      budgets: { maxCostUsd: 2.5 },
      validation: { test: 'npm test' },
      notifications: { webhook: { secret: '(set)' } },
    });
    const row = await prisma.project.findUniqueOrThrow({ where: { key } });
    expect(row.notifications).toMatchObject({ webhook: { secret: 'a-very-long-secret-value' } });

    const issued = await as(admin).post(`/admin/projects/${key}/intake-keys`, { label: 'forms' });
    expect(issued.status).toBe(201);
    expect(issued.body.key).toMatch(/^bfk_/);
    const listed = await as(admin).get(`/admin/projects/${key}/intake-keys`);
    expect(listed.body.keys).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain(issued.body.key);
    // The key works at the intake until revoked.
    const report = { title: 'Checkout fails', description: 'Pay does nothing', externalId: `k-${suffix}` };
    expect((await request(app).post('/api/bugs').set('authorization', `Bearer ${issued.body.key}`).send(report)).status).toBe(202);
    expect((await as(admin).delete(`/admin/projects/${key}/intake-keys/${listed.body.keys[0].id}`)).status).toBe(200);
    expect((await request(app).post('/api/bugs').set('authorization', `Bearer ${issued.body.key}`).send(report)).status).toBe(401);

    expect((await as(admin).get('/admin/projects')).body.projects.map((p: { key: string }) => p.key)).toContain(key);
    expect((await as(admin).get(`/admin/projects/nope-${suffix}`)).status).toBe(404);
  });

  test('notification URLs may not point into private networks (SSRF, issue #16)', async () => {
    // The tests allow http and 127.0.0.1 (their stand-ins: test/support/global-setup.ts), nothing else.
    const bad = await as(admin).patch(`/admin/projects/${key}`, {
      notifications: {
        slack: { webhookUrl: 'https://169.254.169.254/latest/meta-data' },
        webhook: { url: 'http://[fd00::5]:8080/hook', secret: 'a-very-long-secret-value' },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.problems).toEqual([
      { path: 'notifications.slack.webhookUrl', message: expect.stringContaining('169.254.169.254 is a linkLocal address') },
      { path: 'notifications.webhook.url', message: expect.stringContaining('fd00::5 is a uniqueLocal address') },
    ]);
    const internal = await as(admin).patch(`/admin/projects/${key}`, { notifications: { slack: { webhookUrl: 'https://10.0.0.8/services/x' } } });
    expect(internal.body.problems).toEqual([{ path: 'notifications.slack.webhookUrl', message: expect.stringContaining('10.0.0.8 is a private address') }]);
    expect((await prisma.project.findUniqueOrThrow({ where: { key } })).notifications).not.toMatchObject({ slack: expect.anything() });
  });

  test('environment: validated field by field, secrets write-only, null removes it', async () => {
    const bad = await as(admin).patch(`/admin/projects/${key}`, {
      environment: {
        toolchains: { node: '19', ruby: '3.3', go: '1.19.2' },
        setupFile: '../outside.sh',
        egress: { presets: ['npm', 'cran'], hosts: ['10.0.0.1', 'registry.example.com:443'] },
        env: { PATH: '/evil', OK_NAME: 'x' },
      },
      environmentSecrets: { 'bad name': 'x' },
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.problems.map((p: { path: string }) => p.path).sort();
    expect(paths).toEqual([
      'environment.egress.hosts.0',
      'environment.egress.presets.1',
      'environment.env.PATH',
      'environment.setupFile',
      'environment.toolchains',
      'environment.toolchains.go',
      'environment.toolchains.node',
      'environmentSecrets.bad name',
    ]);
    expect(JSON.stringify(bad.body)).toMatch(/supported: 18, 20, 22, 24/);
    expect((await as(admin).patch(`/admin/projects/${key}`, { environment: { toolchains: {} } })).body.problems[0].path).toBe('environment.toolchains');

    const environment = {
      toolchains: { python: '3.11' },
      setup: 'python -m venv .venv && .venv/bin/pip install -r requirements.txt',
      egress: { presets: ['pypi'] },
    };
    const set = await as(admin).patch(`/admin/projects/${key}`, {
      environment,
      environmentSecrets: { PIP_INDEX_TOKEN: 'tok-123456789', OTHER: 'v-987654321' },
    });
    expect(set.status).toBe(200);
    expect(set.body.environment).toEqual(environment);
    expect(set.body.environmentSecrets).toEqual(['OTHER', 'PIP_INDEX_TOKEN']);
    expect(JSON.stringify((await as(admin).get(`/admin/projects/${key}`)).body)).not.toMatch(/tok-123456789|v-987654321/);
    // Per name: null removes one, the others stay.
    const removed = await as(admin).patch(`/admin/projects/${key}`, { environmentSecrets: { OTHER: null } });
    expect(removed.body.environmentSecrets).toEqual(['PIP_INDEX_TOKEN']);
    expect((await prisma.project.findUniqueOrThrow({ where: { key } })).environmentSecrets).toEqual({ PIP_INDEX_TOKEN: 'tok-123456789' });
    const cleared = await as(admin).patch(`/admin/projects/${key}`, { environment: null });
    expect(cleared.body.environment).toBeNull();
  });

  test('delivery: branch (the default) or fork, with an optional fork owner; bad values named', async () => {
    expect((await as(admin).get(`/admin/projects/${key}`)).body.delivery).toEqual({});
    const problems = async (delivery: unknown) => {
      const r = await as(admin).patch(`/admin/projects/${key}`, { delivery });
      expect(r.status, JSON.stringify(delivery)).toBe(400);
      return (r.body.problems as Array<{ path: string; message: string }>).map((p) => `${p.path}: ${p.message}`);
    };
    expect(await problems({ mode: 'mirror' })).toEqual([expect.stringMatching(/^delivery\.mode: .*"branch"\|"fork"/)]);
    expect(await problems({ mode: 'fork', forkOwner: 'bad owner/../x' })).toEqual(['delivery.forkOwner: a GitHub user or organization name']);
    expect(await problems({ mode: 'branch', forkOwner: 'bugfix-bot' })).toEqual(['delivery.forkOwner: forkOwner applies to mode "fork" only']);
    expect(await problems({ mode: 'fork', token: 'x' })).toEqual([expect.stringMatching(/^delivery: .*token/)]);
    expect(await problems('fork')).toEqual([expect.stringMatching(/^delivery: /)]);
    const set = await as(admin).patch(`/admin/projects/${key}`, { delivery: { mode: 'fork', forkOwner: 'acme-bots' } });
    expect(set.status).toBe(200);
    expect(set.body.delivery).toEqual({ mode: 'fork', forkOwner: 'acme-bots' });
    expect((await as(admin).patch(`/admin/projects/${key}`, { delivery: { mode: 'branch' } })).body.delivery).toEqual({ mode: 'branch' });
  });

  test('a clone URL must use a transport host git is allowed; its credentials are never shown back', async () => {
    const refused = async (cloneUrl: string) => {
      const r = await as(admin).patch(`/admin/projects/${key}`, { cloneUrl });
      expect(r.status, cloneUrl).toBe(400);
      return r.body.problems.find((p: { path: string }) => p.path === 'cloneUrl')?.message as string;
    };
    // This run allows file:https (local test remotes): ssh with the worker's keys and remote helpers are refused.
    expect(await refused('ssh://git@attacker.example/r.git')).toMatch(/transport 'ssh' is not allowed .*GIT_ALLOW_PROTOCOL/);
    expect(await refused('git@attacker.example:r.git')).toMatch(/transport 'ssh'/);
    expect(await refused('ext::sh -c touch% /tmp/pwned')).toMatch(/transport 'ext'/);
    const created = await as(admin).post('/admin/projects', {
      key: `${key}-ssh`,
      name: 'x',
      repoOwner: 'acme',
      repoName: 'x',
      cloneUrl: 'ssh://git@attacker.example/r.git',
    });
    expect(created.status).toBe(400);
    // The product default (https only) also refuses host paths and file:// URLs.
    vi.stubEnv('GIT_ALLOW_PROTOCOL', 'https');
    try {
      expect(await refused('file:///etc/some-repo.git')).toMatch(/transport 'file'/);
      expect(await refused('/srv/other-project.git')).toMatch(/transport 'file'/);
    } finally {
      vi.unstubAllEnvs();
    }
    expect((await prisma.project.findUniqueOrThrow({ where: { key } })).cloneUrl).toBeNull();

    const withSecret = 'https://deploy:s3cret-pw@git.example.com/acme/shop.git';
    const changed = await as(admin).patch(`/admin/projects/${key}`, { cloneUrl: withSecret });
    expect(changed.status).toBe(200);
    expect(changed.body.cloneUrl).toBe('https://***@git.example.com/acme/shop.git');
    const viewer = (await createAdminToken(prisma, `api-viewer-${suffix}`, 'VIEWER')).token;
    const read = await as(viewer).get(`/admin/projects/${key}`);
    expect(read.body.cloneUrl).toBe('https://***@git.example.com/acme/shop.git');
    expect(JSON.stringify((await as(viewer).get('/admin/projects')).body)).not.toContain('s3cret-pw');
    expect((await prisma.project.findUniqueOrThrow({ where: { key } })).cloneUrl).toBe(withSecret);
    expect((await as(admin).patch(`/admin/projects/${key}`, { cloneUrl: null })).status).toBe(200);
  });
});

describe('fixes', () => {
  let bugId: string;
  let workflowId: string;

  beforeAll(async () => {
    const p = await prisma.project.findUniqueOrThrow({ where: { key } });
    const k = await as(admin).post(`/admin/projects/${key}/intake-keys`, {});
    const filed = await request(app)
      .post('/api/bugs')
      .set('authorization', `Bearer ${k.body.key}`)
      .send({ title: 'Search is empty', description: 'No results', priority: 'CRITICAL', externalId: `fix-${suffix}` });
    ({ bugId, workflowId } = filed.body);
    await prisma.ledgerEntry.createMany({
      data: [
        {
          callKey: `${workflowId}-1`,
          workflowId,
          projectId: p.id,
          bugId,
          iteration: 1,
          model: 'claude-sonnet-5-5',
          inputTokens: 1000,
          outputTokens: 100,
          costUsd: new Prisma.Decimal('0.003'),
          createdAt: new Date('2031-01-02T10:00:00Z'),
        },
        {
          callKey: `${workflowId}-2`,
          workflowId,
          projectId: p.id,
          bugId,
          iteration: 2,
          model: 'claude-haiku-4-5',
          inputTokens: 500,
          outputTokens: 50,
          costUsd: new Prisma.Decimal('0.00075'),
          createdAt: new Date('2031-01-03T10:00:00Z'),
        },
      ],
    });
  });

  test('list reads visibility with filters', async () => {
    // Both fixes of the project: the one filed in the projects test and this one.
    const ids = async (q: string) => ((await as(admin).get(`/admin/fixes?${q}`)).body.fixes ?? []).map((f: { workflowId: string }) => f.workflowId).sort();
    await expect
      .poll(() => ids(`project=${key}&status=running&phase=queued`), { timeout: 20_000 })
      .toEqual([fixWorkflowId(await prisma.project.findUniqueOrThrow({ where: { key } }), `k-${suffix}`), workflowId].sort());
    expect(await ids(`project=${key}&limit=1`)).toHaveLength(1);
    expect((await as(admin).get(`/admin/fixes?project=${key}&phase=fixing`)).body.fixes).toEqual([]);
    expect((await as(admin).get(`/admin/fixes?project=${key}&since=2999-01-01`)).body.fixes).toEqual([]);
    const bad = await as(admin).get(`/admin/fixes?project=${encodeURIComponent("x' OR 1=1")}&status=sleeping`);
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p: { path: string }) => p.path).sort()).toEqual(['project', 'status']);
  });

  test('detail by bug id or workflow id: status, ledger, timeline', async () => {
    const byBug = await as(admin).get(`/admin/fixes/${bugId}`);
    expect(byBug.status).toBe(200);
    expect(byBug.body).toMatchObject({
      fix: { workflowId, status: 'RUNNING', phase: 'queued', projectKey: key },
      bug: { id: bugId, priority: 'CRITICAL' },
      status: null,
      pr: null,
    });
    expect(byBug.body.ledger.map((l: { costUsd: string }) => l.costUsd)).toEqual(['0.003', '0.00075']);
    expect(byBug.body.timeline[0]).toMatchObject({ kind: 'started' });
    expect((await as(admin).get(`/admin/fixes/${workflowId}`)).body.fix.bugId).toBe(bugId);
    expect((await as(admin).get(`/admin/fixes/${workflowId}/transcript`)).body).toEqual({ workflowId, turns: [], condensations: [] });
    expect((await as(admin).get(`/admin/fixes/bugfix-${key}.absent`)).status).toBe(404);
  });

  test('operators steer: signals land in history; bad bodies get 400', async () => {
    expect((await as(operator).post(`/admin/fixes/${workflowId}/pause`)).status).toBe(200);
    expect((await as(operator).post(`/admin/fixes/${workflowId}/hint`, { text: 'look at search.ts' })).status).toBe(200);
    expect((await as(operator).post(`/admin/fixes/${workflowId}/hint`, { text: '' })).status).toBe(400);
    expect((await as(operator).post(`/admin/fixes/${workflowId}/budget`, {})).status).toBe(400);
    const timeline = (await as(admin).get(`/admin/fixes/${workflowId}`)).body.timeline as Array<{ kind: string; name?: string }>;
    expect(timeline.filter((t) => t.kind === 'signal').map((t) => t.name)).toEqual(['pause', 'hint']);
  });

  test("operators raise a fix's budgets only up to the project's ceiling; admins beyond (issue #16)", async () => {
    // The project's budgets are { maxCostUsd: 2.5, maxIterations: 12 } (first test): its ceiling for operators.
    const above = await as(operator).post(`/admin/fixes/${workflowId}/budget`, { maxCostUsd: 2.6 });
    expect(above.status).toBe(403);
    expect(above.body.error).toMatch(/maxCostUsd 2\.6 is above the project's ceiling of 2\.5 for operators/);
    const raisedCeiling = await as(admin).patch(`/admin/projects/${key}`, {
      budgets: { maxCostUsd: 2.5, maxIterations: 12, operatorMax: { maxIterations: 40 } },
    });
    expect(raisedCeiling.status).toBe(200);
    const aboveMax = await as(operator).post(`/admin/fixes/${workflowId}/budget`, { maxIterations: 41 });
    expect(aboveMax.status).toBe(403);
    expect(aboveMax.body.error).toMatch(/maxIterations 41 is above the project's ceiling of 40/);
    // Within the ceiling, and an admin above it: past the check, the update goes to the fix, which
    // no worker runs in this file, so Temporal's deadline answers (504), not the ceiling (403).
    const [within, byAdmin] = await Promise.all([
      as(operator).post(`/admin/fixes/${workflowId}/budget`, { maxIterations: 40 }),
      as(admin).post(`/admin/fixes/${workflowId}/budget`, { maxCostUsd: 50 }),
    ]);
    expect([within.status, byAdmin.status]).toEqual([504, 504]);
  });

  test('costs by day, model and project', async () => {
    const q = `since=2031-01-01&project=${key}`;
    expect((await as(admin).get(`/admin/costs?by=day&${q}`)).body).toEqual({
      by: 'day',
      totalUsd: '0.00375',
      rows: [
        { group: '2031-01-02', calls: 1, inputTokens: 1000, outputTokens: 100, costUsd: '0.003' },
        { group: '2031-01-03', calls: 1, inputTokens: 500, outputTokens: 50, costUsd: '0.00075' },
      ],
    });
    expect((await as(admin).get(`/admin/costs?by=model&${q}`)).body.rows.map((r: { group: string }) => r.group)).toEqual([
      'claude-haiku-4-5',
      'claude-sonnet-5-5',
    ]);
    expect((await as(admin).get(`/admin/costs?by=project&${q}`)).body.rows).toEqual([
      { group: key, calls: 2, inputTokens: 1500, outputTokens: 150, costUsd: '0.00375' },
    ]);
    expect((await as(admin).get('/admin/costs?by=week')).status).toBe(400);
  });
});

test('the OpenAPI document describes every route of the table', async () => {
  const doc = (await as(admin).get('/admin/openapi.json')).body;
  expect(doc.openapi).toBe('3.1.0');
  for (const r of adminRoutes) {
    const op = doc.paths[`/admin${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`]?.[r.method];
    expect(op, `${r.method} ${r.path}`).toMatchObject({ 'x-required-role': r.role, security: [{ bearer: [] }] });
  }
  expect(doc.paths['/admin/projects'].post.requestBody.content['application/json'].schema.required).toEqual(
    expect.arrayContaining(['key', 'name', 'repoOwner', 'repoName']),
  );
  expect(doc.paths['/admin/fixes'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['status', 'project', 'phase', 'since', 'limit']);
});
