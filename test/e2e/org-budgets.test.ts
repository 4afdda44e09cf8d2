/**
 * Organisation budgets and alerts against real PostgreSQL, Temporal, a worker and the HTTP API,
 * with the notification stand-ins (Slack, SMTP, signed webhook, PagerDuty Events API v2):
 * warn/critical/hard each fire once (also from concurrent ledger writes), HARD presses the budget
 * kill switch and the intake answers 409, a real model call crossing a budget stops its own fix,
 * rollover lifts the switch and resolves the alerts, an admin's lift is respected, alert rules are
 * deduplicated with one reminder past the window, and the alert Schedule runs the evaluator.
 */
import { waitForFixStart } from '../../src/fixes/resolve-fix.js';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { evaluateAll, onSpend, type EvaluatorDeps } from '../../src/alerts/evaluator.js';
import { Prisma } from '../../src/db/prisma.js';
import { DEFAULT_RULE_SETTINGS, pagerDutyDedupKey, type AlertRuleSettings } from '../../src/domain/organisation/alert-rules.js';
import { safetyControllerId } from '../../src/domain/organisation/kill-switch.js';
import { BUDGET_ACTOR } from '../../src/domain/organisation/org-budget.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { issueIntakeKey } from '../../src/projects/project-store.js';
import { admission, deactivateKillSwitch, readSwitchesMemo } from '../../src/safety/kill-switch-client.js';
import { alertScheduleId, ensureAlertSchedule } from '../../src/temporal/alert-schedule.js';
import { taskQueues } from '../../temporal.config.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import type { ModelScript } from '../../dev/stand-ins/anthropic-api.js';
import { startNotificationStandIns, type NotificationStandIns, type Received } from '../../dev/stand-ins/notifications.js';

const wandering: ModelScript = () => [{ type: 'tool_use', name: 'list_files', input: {} }];
const ROUTING_KEY = 'R0123456789abcdef0123456789abcde';
const NEVER: Partial<AlertRuleSettings> = { failureRatePct: 100, queueBackupMinFixes: 1_000_000, tokensPerFix: 1e15, dailySpendUsd: 1e12 };

describe('organisation budgets and alerts', () => {
  let stack: Stack;
  let notif: NotificationStandIns;
  const suffix = Math.random().toString(36).slice(2, 8);
  const queue = taskQueues.main;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-org-budgets-'));
  const projects: Record<'a' | 'b' | 'c' | 'd', { id: string; key: string; intakeKey: string }> = {} as never;
  let ev: EvaluatorDeps;
  let operator: string;
  let adminToken: string;

  beforeAll(async () => {
    notif = await startNotificationStandIns();
    // Organisation channels are configuration: the stand-ins' URLs, as production would name the real ones.
    Object.assign(process.env, {
      ALERT_SLACK_WEBHOOK_URL: `${notif.http.url}/slack/alerts`,
      ALERT_EMAIL_TO: 'ops@example.com, finance@example.com',
      SMTP_URL: notif.smtpUrl,
      ALERT_WEBHOOK_URL: `${notif.http.url}/hooks/alerts`,
      ALERT_WEBHOOK_SECRET: 'a-very-long-alert-secret',
      PAGERDUTY_ROUTING_KEY: ROUTING_KEY,
      PAGERDUTY_EVENTS_URL: `${notif.http.url}/pagerduty/v2/enqueue`,
      // Rules stay quiet in the worker: the rule tests below pass their own thresholds.
      ALERT_FAILURE_RATE_PCT: '100',
      ALERT_QUEUE_BACKUP_MIN_FIXES: '1000000',
      ALERT_TOKENS_PER_FIX: '1e15',
      ALERT_DAILY_SPEND_USD: '1e12',
    });
    stack = await startStack({ script: wandering, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
    stack.anthropic!.setDelay(300);
    for (const name of ['a', 'b', 'c', 'd'] as const) {
      const key = `ob-${name}-${suffix}`;
      const { project } = await createFixtureProject(stack.prisma, stack.github, { key, repo: key, dir: tmp, validation: {} });
      projects[name] = { id: project.id, key, intakeKey: await issueIntakeKey(stack.prisma, project.id) };
    }
    ev = { prisma: stack.prisma, temporal: stack.temporal, taskQueue: queue, rules: { ...DEFAULT_RULE_SETTINGS, ...NEVER } };
    operator = (await createAdminToken(stack.prisma, `ob-operator-${suffix}`, 'OPERATOR')).token;
    adminToken = (await createAdminToken(stack.prisma, `ob-admin-${suffix}`, 'ADMIN')).token;
  });

  afterAll(async () => {
    if (!stack) return; // beforeAll failed before the stack was up; its error is the one to read
    await stack.temporal.schedule
      .getHandle(alertScheduleId(queue))
      .delete()
      .catch(() => undefined);
    for await (const w of stack.temporal.workflow.list({ query: `TaskQueue = '${queue}' AND ExecutionStatus = 'Running'` })) {
      await stack.temporal.workflow
        .getHandle(w.workflowId)
        .terminate('test over')
        .catch(() => undefined);
    }
    await stack.temporal.workflow
      .getHandle(safetyControllerId(queue))
      .terminate('test over')
      .catch(() => undefined);
    const ids = Object.values(projects).map((p) => p.id);
    const alerts = await stack.prisma.alert.findMany({ where: { source: queue }, select: { id: true } });
    await stack.prisma.notificationDelivery.deleteMany({ where: { OR: alerts.map((a) => ({ idempotencyKey: { startsWith: `alert:${a.id}:` } })) } });
    await stack.prisma.alert.deleteMany({ where: { source: queue } });
    await stack.prisma.safetyEvent.deleteMany({ where: { projectId: { in: ids } } });
    await stack.prisma.ledgerEntry.deleteMany({ where: { projectId: { in: ids } } });
    await stack.prisma.project.deleteMany({ where: { id: { in: ids } } });
    await stack.prisma.adminToken.deleteMany({ where: { name: { endsWith: suffix } } });
    await stack?.stop();
    await notif?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const budget = (projectId: string, limitUsd: number, period: 'DAY' | 'WEEK' | 'MONTH' = 'DAY') =>
    stack.prisma.orgBudget.create({ data: { name: `test ${period}`, projectId, period, limitUsd: new Prisma.Decimal(limitUsd) } });

  /** A ledger row as callModel writes it, then the same spend check it runs. */
  async function spend(projectId: string, usd: number): Promise<void> {
    await stack.prisma.ledgerEntry.create({
      data: {
        callKey: `ob-${randomUUID()}`,
        workflowId: `ob-${suffix}`,
        projectId,
        bugId: randomUUID(),
        iteration: 1,
        model: 'test',
        inputTokens: 0,
        outputTokens: 0,
        costUsd: new Prisma.Decimal(usd),
      },
    });
    await onSpend(ev, { projectId });
  }

  const switchScopes = async () => ((await readSwitchesMemo(stack.temporal, queue)) ?? []).map((s) => s.scope);
  const hooksFor = (alertId: string, action = 'trigger') =>
    notif.hooks.filter((h) => (h.body.alert as { id: string }).id === alertId && h.body.action === action);
  const pdFor = (alertId: string, action: string) =>
    notif.pagerDuty.filter((e: Received) => e.body.dedup_key === pagerDutyDedupKey(alertId) && e.body.event_action === action);
  const fileBug = (key: 'a' | 'b' | 'c' | 'd', title: string) =>
    request(stack.httpUrl).post('/api/bugs').set('authorization', `Bearer ${projects[key].intakeKey}`).send({ title, description: 'Anything.' });

  test('warn, critical and hard fire once each, also when two ledger writes cross together; hard stops the project', async () => {
    const b = await budget(projects.a.id, 1);
    await spend(projects.a.id, 0.5);
    expect(await stack.prisma.budgetCrossing.count({ where: { budgetId: b.id } })).toBe(0);
    // Two model calls answered at the same moment, each seeing the other's row: one of them wins each level.
    await Promise.all([spend(projects.a.id, 0.35), spend(projects.a.id, 0.35)]);
    await spend(projects.a.id, 0.01);
    await evaluateAll(ev);
    const crossings = await stack.prisma.budgetCrossing.findMany({ where: { budgetId: b.id }, orderBy: { level: 'asc' } });
    expect(crossings.map((c) => c.level)).toEqual(['WARN', 'CRITICAL', 'HARD']);
    const events = await stack.prisma.safetyEvent.findMany({ where: { projectId: projects.a.id, kind: { startsWith: 'budget-' } } });
    expect(events.map((e) => e.kind).sort()).toEqual(['budget-critical', 'budget-exceeded', 'budget-warning']);
    const alerts = await stack.prisma.alert.findMany({ where: { budgetId: b.id } });
    expect(alerts.map((a) => a.severity).sort()).toEqual(['critical', 'critical', 'warning']);

    await expect.poll(switchScopes, { timeout: 20_000 }).toContain(`budget:${projects.a.key}`);
    const refused = await fileBug('a', 'Over budget');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/budget/);
    expect((await admission(stack, queue, projects.b.key)).allowed).toBe(true);

    // Every alert reached every channel once; PagerDuty only the critical ones.
    const hard = alerts.find((a) => a.details && (a.details as { level: string }).level === 'HARD')!;
    await expect.poll(() => alerts.every((a) => hooksFor(a.id).length === 1), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => pdFor(hard.id, 'trigger').length, { timeout: 20_000 }).toBe(1);
    const pd = pdFor(hard.id, 'trigger')[0]!.body as { routing_key: string; payload: { severity: string; summary: string } };
    expect(pd).toMatchObject({ routing_key: ROUTING_KEY, payload: { severity: 'critical', summary: expect.stringMatching(/hard limit/) } });
    expect(notif.pagerDuty.filter((e) => alerts.some((a) => a.severity === 'warning' && e.body.dedup_key === pagerDutyDedupKey(a.id)))).toEqual([]);
    await expect.poll(() => notif.slack.filter((s) => String(s.body.text).includes(hard.summary)).length, { timeout: 20_000 }).toBe(1);
    await expect
      .poll(() => notif.mails.filter((m) => m.subject.includes('hard limit') && m.to.includes('ops@example.com')).length, { timeout: 20_000 })
      .toBe(1);
    expect(notif.pagerDutyRefused).toEqual([]);
    await expect.poll(async () => (await stack.prisma.alert.findUniqueOrThrow({ where: { id: hard.id } })).deliveredRound, { timeout: 20_000 }).toBe(1);
  });

  test('a real model call that crosses a hard limit stops its own fix, and the next report gets 409', async () => {
    await budget(projects.c.id, 0.0001);
    const filed = await fileBug('c', 'Spends too much');
    expect(filed.status, JSON.stringify(filed.body)).toBe(202);
    const outcome = (await (await waitForFixStart(stack.temporal, filed.body.workflowId as string)).result()) as FixOutcome;
    expect(outcome.status).toBe('cancelled');
    expect(outcome.reason).toMatch(/budget:ob-c-/);
    expect(await stack.prisma.budgetCrossing.count({ where: { budget: { projectId: projects.c.id }, level: 'HARD' } })).toBe(1);
    expect((await fileBug('c', 'Still over budget')).status).toBe(409);
  });

  test('an admin may lift a budget switch early; the evaluator does not press it again in that period', async () => {
    await budget(projects.b.id, 0.5);
    await spend(projects.b.id, 0.6);
    await expect.poll(switchScopes, { timeout: 20_000 }).toContain(`budget:${projects.b.key}`);
    await deactivateKillSwitch(stack, queue, { scope: `budget:${projects.b.key}`, reason: 'approved overspend', actor: 'admin:test' });
    await spend(projects.b.id, 0.1);
    await evaluateAll(ev);
    expect(await switchScopes()).not.toContain(`budget:${projects.b.key}`);
    expect(await switchScopes()).toContain(`budget:${projects.a.key}`); // still over its limit today
    expect(await stack.prisma.budgetCrossing.count({ where: { budget: { projectId: projects.b.id }, level: 'HARD' } })).toBe(1);
  });

  test('an operator resolves an alert through the API: PagerDuty gets the resolve with the same dedup_key', async () => {
    const hard = await stack.prisma.alert.findFirstOrThrow({
      where: { projectId: projects.b.id, severity: 'critical', status: 'ACTIVE', summary: { contains: 'hard limit' } },
    });
    await expect.poll(() => pdFor(hard.id, 'trigger').length, { timeout: 20_000 }).toBe(1);
    const auth = { authorization: `Bearer ${operator}` };
    const res = await request(stack.httpUrl).post(`/admin/alerts/${hard.id}/resolve`).set(auth).send({ reason: 'handled' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      alert: { status: 'resolved', resolvedBy: expect.stringMatching(/^admin:ob-operator-.*handled$/) },
      delivery: 'dispatched',
    });
    await expect.poll(() => pdFor(hard.id, 'resolve').length, { timeout: 20_000 }).toBe(1);
    expect(pdFor(hard.id, 'resolve')[0]!.body).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: pagerDutyDedupKey(hard.id) });
    expect((await request(stack.httpUrl).post(`/admin/alerts/${hard.id}/resolve`).set(auth).send({})).status).toBe(409);
    const listed = await request(stack.httpUrl).get('/admin/alerts?status=resolved&limit=500').set(auth);
    expect(listed.body.alerts.map((a: { id: string }) => a.id)).toContain(hard.id);
  });

  test("a raised limit lifts the stop and crossing the new limit stops again (an edit clears the period's crossings); operators cannot press a budget switch", async () => {
    const b = await budget(projects.d.id, 0.5);
    const scope = `budget:${projects.d.key}`;
    await spend(projects.d.id, 0.6);
    await expect.poll(switchScopes, { timeout: 20_000 }).toContain(scope);
    const hard = await stack.prisma.alert.findFirstOrThrow({ where: { budgetId: b.id, summary: { contains: 'hard limit' } } });
    await expect.poll(async () => (await stack.prisma.alert.findUniqueOrThrow({ where: { id: hard.id } })).deliveredRound, { timeout: 20_000 }).toBe(1);

    const admin = { authorization: `Bearer ${adminToken}` };
    const raised = await request(stack.httpUrl).patch(`/admin/budgets/${b.id}`).set(admin).send({ limitUsd: 1 });
    expect(raised.status, JSON.stringify(raised.body)).toBe(200);
    expect(raised.body.crossed).toEqual([]);
    expect((await evaluateAll(ev)).switchesLifted).toContain(scope);
    expect((await admission(stack, queue, projects.d.key)).allowed).toBe(true);

    await spend(projects.d.id, 0.5); // $1.10 of the new $1
    await expect.poll(switchScopes, { timeout: 20_000 }).toContain(scope);
    expect((await fileBug('d', 'Over the raised budget')).status).toBe(409);
    // The hard alert, still active, goes out again as a new round.
    await expect.poll(() => hooksFor(hard.id).map((h) => h.body.round), { timeout: 20_000 }).toEqual([1, 2]);

    // Pressing a budget switch (and so replacing the evaluator's) is refused; an admin may lift it.
    const pressed = await request(stack.httpUrl).post('/admin/kill-switches').set('authorization', `Bearer ${operator}`).send({ scope, reason: 'mine now' });
    expect(pressed.status, JSON.stringify(pressed.body)).toBe(400);
    const lifted = await request(stack.httpUrl).post('/admin/kill-switches/deactivate').set(admin).send({ scope, reason: 'approved overspend' });
    expect(lifted.status, JSON.stringify(lifted.body)).toBe(200);
    expect(lifted.body.lifted).toMatchObject({ scope, actor: BUDGET_ACTOR });
  });

  test('when the period rolls over, the evaluator lifts the budget switches and resolves the budget alerts', async () => {
    const tomorrow = new Date(Date.now() + 24 * 3600_000);
    const summary = await evaluateAll(ev, tomorrow);
    expect(summary.switchesLifted).toEqual(expect.arrayContaining([`budget:${projects.a.key}`, `budget:${projects.c.key}`]));
    expect(await switchScopes()).toEqual(expect.not.arrayContaining([`budget:${projects.a.key}`, `budget:${projects.c.key}`]));
    expect((await admission(stack, queue, projects.a.key)).allowed).toBe(true);
    const hard = await stack.prisma.alert.findFirstOrThrow({ where: { projectId: projects.a.id, summary: { contains: 'hard limit' } } });
    expect(hard.status).toBe('RESOLVED');
    await expect.poll(() => pdFor(hard.id, 'resolve').length, { timeout: 20_000 }).toBe(1);
    await expect.poll(() => hooksFor(hard.id, 'resolve').length, { timeout: 20_000 }).toBe(1);
    expect(await stack.prisma.alert.count({ where: { source: queue, rule: 'budget', status: 'ACTIVE' } })).toBe(0);
  });

  test('an alert rule fires once, is updated while it keeps firing, reminds once past the window, and resolves', async () => {
    for (const i of [1, 2]) {
      await stack.prisma.bugReport.create({
        data: {
          projectId: projects.b.id,
          externalId: `failed-${i}`,
          workflowId: `ob-failed-${suffix}-${i}`,
          title: 'Failed',
          description: 'x',
          status: 'FAILED',
          completedAt: new Date(),
        },
      });
    }
    const firing = { ...ev, rules: { ...ev.rules, failureRatePct: 0, failureMinFixes: 1 } };
    await evaluateAll(firing);
    const alert = await stack.prisma.alert.findFirstOrThrow({ where: { source: queue, rule: 'high_failure_rate', status: 'ACTIVE' } });
    await expect.poll(async () => (await stack.prisma.alert.findUniqueOrThrow({ where: { id: alert.id } })).deliveredRound, { timeout: 20_000 }).toBe(1);
    await evaluateAll(firing);
    await evaluateAll(firing);
    const updated = await stack.prisma.alert.findUniqueOrThrow({ where: { id: alert.id } });
    expect(updated.seenCount).toBe(3);
    expect(await stack.prisma.alert.count({ where: { source: queue, rule: 'high_failure_rate' } })).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(hooksFor(alert.id)).toHaveLength(1);
    expect(pdFor(alert.id, 'trigger')).toHaveLength(1);

    await evaluateAll(firing, new Date(Date.now() + 31 * 60_000));
    await expect.poll(() => hooksFor(alert.id).map((h) => h.body.round), { timeout: 20_000 }).toEqual([1, 2]);
    expect(String(hooksFor(alert.id)[1]!.body.text)).toMatch(/still firing/);

    await evaluateAll(ev); // thresholds that do not fire: the condition cleared
    expect((await stack.prisma.alert.findUniqueOrThrow({ where: { id: alert.id } })).status).toBe('RESOLVED');
    await expect.poll(() => pdFor(alert.id, 'resolve').length, { timeout: 20_000 }).toBe(1);
    // Signed like every webhook of the service.
    expect(hooksFor(alert.id, 'resolve')[0]!.headers['x-bugfix-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  test('the alert Schedule runs the evaluator on this queue', async () => {
    await ensureAlertSchedule(stack.temporal, { taskQueue: queue, everySeconds: 3600 });
    await stack.temporal.schedule.getHandle(alertScheduleId(queue)).trigger();
    const done = async () =>
      (await stack.temporal.workflow.count(`WorkflowType = 'alertEvaluatorWorkflow' AND TaskQueue = '${queue}' AND ExecutionStatus = 'Completed'`)).count;
    await expect.poll(done, { timeout: 30_000, interval: 500 }).toBeGreaterThanOrEqual(1);
  });
});
