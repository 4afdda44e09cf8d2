/**
 * /livez, /readyz and /metrics over real Temporal, PostgreSQL and Docker. Readiness failures come
 * from real clients pointed where nothing listens; metric values are checked against rows and
 * workflows this file creates (unique project keys, its own task queue).
 */
import { Client, Connection } from '@temporalio/client';
import Docker from 'dockerode';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import type { FixInput } from '../../src/domain/fix/fix.js';
import { ProjectKeyKey } from '../../src/domain/fix/search-attributes.js';
import { createApp } from '../../src/http/app.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';
import { taskQueues } from '../../temporal.config.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
/** Nothing listens on port 1: a real client that cannot reach its server. */
const deadPrisma = createPrisma('postgresql://bugfix:bugfix@127.0.0.1:1/bugfix');
const deadDocker = new Docker({ socketPath: '/nonexistent/docker.sock' });
let temporal: Client;
let deadTemporal: Client;
const suffix = Math.random().toString(36).slice(2, 8);
const projectKey = `metrics-${suffix}`;
const workflowIds = [`bugfix-${projectKey}-m1`, `bugfix-${projectKey}-m2`];
const log = { error: () => undefined };
const METRICS_TOKEN = `metrics-token-${suffix}`;
/** What Prometheus sends: the configured scrape token. */
const scrape = (app: ReturnType<typeof createApp>) => request(app).get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`);

/** The value of one sample in the Prometheus text format, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ? m[2].split(',') : [];
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return undefined;
}

beforeAll(async () => {
  temporal = await connectClient();
  deadTemporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const project = await upsertProject(prisma, { key: projectKey, name: 'Metrics', repoOwner: 'acme', repoName: 'metrics' });
  const today = new Date();
  const yesterday = new Date(Date.now() - 36 * 3600_000);
  const bug = await prisma.bugReport.create({
    data: {
      projectId: project.id,
      externalId: 'done',
      workflowId: `bugfix-${projectKey}-done`,
      title: 'Done',
      description: 'x',
      status: 'FAILED',
      completedAt: today,
    },
  });
  const entry = (n: number, model: string, cost: string, createdAt: Date) => ({
    callKey: `metrics-${suffix}-${n}`,
    workflowId: bug.workflowId,
    projectId: project.id,
    bugId: bug.id,
    iteration: n,
    model,
    inputTokens: 10,
    outputTokens: 5,
    costUsd: cost,
    createdAt,
  });
  await prisma.ledgerEntry.createMany({
    data: [
      entry(1, 'model-x', '0.01250000', today),
      entry(2, 'model-x', '0.00250000', today),
      entry(3, 'model-y', '1.00000000', today),
      entry(4, 'model-x', '5.00000000', yesterday),
    ],
  });
  // No worker polls this queue: the fixes stay Running in visibility and nothing else happens.
  for (const workflowId of workflowIds) {
    await temporal.workflow.start('bugFixWorkflow', {
      taskQueue: `${taskQueues.main}-no-worker`,
      workflowId,
      args: [{ bugId: bug.id, projectId: project.id, projectKey } satisfies FixInput],
      typedSearchAttributes: [{ key: ProjectKeyKey, value: projectKey }],
    });
  }
});

afterAll(async () => {
  for (const id of workflowIds)
    await temporal.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
  await prisma.project.deleteMany({ where: { key: projectKey } });
  await prisma.ledgerEntry.deleteMany({ where: { callKey: { startsWith: `metrics-${suffix}-` } } });
  await temporal.connection.close();
  // deadTemporal is left open on purpose: closing it while the SDK's retry timer for the
  // unreachable address is pending makes that timer throw "Channel has been shut down".
  await prisma.$disconnect();
  await deadPrisma.$disconnect().catch(() => undefined);
});

describe('health', () => {
  test('/livez answers and /readyz is ready when Temporal, PostgreSQL and Docker answer', async () => {
    const app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log });
    expect((await request(app).get('/livez')).body).toEqual({ ok: true });
    const res = await request(app).get('/readyz');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ ok: true, failed: [], checks: { temporal: { ok: true }, postgres: { ok: true }, docker: { ok: true } } });
  });

  test('/readyz answers 503 naming each dependency that failed', async () => {
    const down = await request(createApp({ prisma: deadPrisma, temporal, temporalUiUrl: 'http://localhost:8233', log, docker: deadDocker })).get('/readyz');
    expect(down.status).toBe(503);
    expect(down.body.failed).toEqual(['postgres', 'docker']);
    expect(down.body.checks.temporal.ok).toBe(true);
    // Open to anyone who reaches the port, so no error text (socket paths, addresses): that is logged.
    expect(JSON.stringify(down.body)).not.toMatch(/ENOENT|nonexistent|127\.0\.0\.1|error/i);
    expect(down.body.checks.docker).toEqual({ ok: false, ms: expect.any(Number) });

    const noTemporal = await request(createApp({ prisma, temporal: deadTemporal, temporalUiUrl: 'http://localhost:8233', log })).get('/readyz');
    expect(noTemporal.status).toBe(503);
    expect(noTemporal.body.failed).toEqual(['temporal']);
    // /livez does not depend on anything: the process is alive.
    expect(
      (await request(createApp({ prisma: deadPrisma, temporal: deadTemporal, temporalUiUrl: 'http://localhost:8233', log, docker: deadDocker })).get('/livez'))
        .status,
    ).toBe(200);
  });
});

describe('/metrics', () => {
  test('needs the scrape token or an admin token: spend and fix counts are not for anyone on the port', async () => {
    const app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log, metricsToken: METRICS_TOKEN });
    expect((await request(app).get('/metrics')).status).toBe(401);
    expect((await request(app).get('/metrics').set('authorization', 'Bearer wrong')).status).toBe(401);
    const admin = await createAdminToken(prisma, `metrics-test-${suffix}`, 'VIEWER');
    try {
      expect((await request(app).get('/metrics').set('authorization', `Bearer ${admin.token}`)).status).toBe(200);
    } finally {
      await prisma.adminToken.delete({ where: { id: admin.id } });
    }
    // Without METRICS_TOKEN configured, only admin tokens: an empty bearer is no token.
    const unconfigured = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log, metricsToken: undefined });
    expect((await request(unconfigured).get('/metrics').set('authorization', 'Bearer ')).status).toBe(401);
  });

  test('gauges read from visibility and the ledger, plus process metrics', async () => {
    const res = await scrape(createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log, metricsToken: METRICS_TOKEN }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(sample(text, 'bugfix_metrics_source_up', { source: 'temporal' })).toBe(1);
    expect(sample(text, 'bugfix_metrics_source_up', { source: 'postgres' })).toBe(1);
    // Other files' fixes may run too: at least this file's two.
    expect(sample(text, 'bugfix_fixes_running')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'bugfix_fix_workflows', { status: 'Running' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'bugfix_fixes_started_24h')).toBeGreaterThanOrEqual(2);
    // Today's ledger rows only, summed per project and model; yesterday's $5 is not today's spend.
    expect(sample(text, 'bugfix_spend_today_usd', { project: projectKey, model: 'model-x' })).toBeCloseTo(0.015, 9);
    expect(sample(text, 'bugfix_spend_today_usd', { project: projectKey, model: 'model-y' })).toBe(1);
    expect(sample(text, 'bugfix_model_calls_today', { project: projectKey, model: 'model-x' })).toBe(2);
    expect(sample(text, 'bugfix_fixes_finished_24h', { outcome: 'failed', project: projectKey })).toBe(1);
    expect(sample(text, 'bugfix_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  test('the running count follows Temporal: a terminated fix leaves it', async () => {
    const app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log, metricsToken: METRICS_TOKEN });
    const query = `WorkflowType = 'bugFixWorkflow' AND ExecutionStatus = 'Running' AND ${ProjectKeyKey.name} = '${projectKey}'`;
    expect((await temporal.workflow.count(query)).count).toBe(2);
    await temporal.workflow.getHandle(workflowIds[1]!).terminate('metrics test');
    const text = (await scrape(app)).text;
    expect(sample(text, 'bugfix_fix_workflows', { status: 'Terminated' })).toBeGreaterThanOrEqual(1);
    expect((await temporal.workflow.count(query)).count).toBe(1);
  });

  test('an unreachable source empties its gauges and says so; the scrape still answers', async () => {
    const res = await scrape(createApp({ prisma, temporal: deadTemporal, temporalUiUrl: 'http://localhost:8233', log, metricsToken: METRICS_TOKEN }));
    expect(res.status).toBe(200);
    expect(sample(res.text, 'bugfix_metrics_source_up', { source: 'temporal' })).toBe(0);
    expect(sample(res.text, 'bugfix_fixes_running')).toBeNaN();
    expect(sample(res.text, 'bugfix_fix_workflows', { status: 'Running' })).toBeUndefined();
    expect(sample(res.text, 'bugfix_metrics_source_up', { source: 'postgres' })).toBe(1);
    expect(sample(res.text, 'bugfix_spend_today_usd', { project: projectKey, model: 'model-y' })).toBe(1);
  });
});
