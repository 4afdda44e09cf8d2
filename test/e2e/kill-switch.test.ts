/**
 * Kill switches end to end: real Temporal, worker, Docker sandboxes, PostgreSQL, the HTTP intake,
 * the admin API and the CLI. Fixes are filed through the intake and kept running by a model that
 * lists files forever (slowly), then stopped by project and global switches; new fixes in scope
 * are refused with 409 until the switch is lifted; the controller sweeps up a fix that started
 * without asking, keeps its switches across continue-as-new and still answers with no worker.
 */
import { waitForFixStart } from '../../src/fixes/resolve-fix.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import Docker from 'dockerode';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { createSafetyActivities, runningFixesQuery } from '../../activities/safety.js';
import { SANDBOX_LABELS } from '../../src/sandbox/container.js';
import { safetyControllerId } from '../../src/domain/organisation/kill-switch.js';
import { KILL_SWITCHES_MEMO } from '../../workflows/safety-messages.js';
import type { FixInput, FixOutcome } from '../../src/domain/fix/fix.js';
import { BugIdKey, ProjectKeyKey } from '../../src/domain/fix/search-attributes.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { issueIntakeKey, upsertProject } from '../../src/projects/project-store.js';
import { activateKillSwitch, admission, deactivateKillSwitch, KillSwitchStateUnreadable, readSafetyState } from '../../src/safety/kill-switch-client.js';
import type { PrismaClient } from '../../src/db/prisma.js';
import { taskQueues } from '../../temporal.config.js';
import { statusQuery } from '../../workflows/bug-fix/messages.js';
import type { safetyControllerWorkflow } from '../../workflows/safety-controller.js';
import { createBareRemote } from '../../dev/fixture-remotes.js';
import type { ModelScript } from '../../dev/stand-ins/anthropic-api.js';
import { cli } from './kill-switch-cli.js';

/** Never finishes: looks around every turn. */
const wandering: ModelScript = () => [{ type: 'tool_use', name: 'list_files', input: {} }];

describe('kill switches', () => {
  let stack: Stack;
  const suffix = Math.random().toString(36).slice(2, 8);
  const tester = `vitest-${suffix}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-kill-switch-'));
  const queue = taskQueues.main;
  const keyA = `ks-a-${suffix}`;
  const keyB = `ks-b-${suffix}`;
  const projects: Record<string, { id: string; intakeKey: string }> = {};
  const admin = { operator: '', admin: '', viewer: '', name: `ks-operator-${suffix}` };

  beforeAll(async () => {
    stack = await startStack({ script: wandering, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
    // Slow answers keep every fix mid-iteration far from its default 30-iteration budget.
    stack.anthropic!.setDelay(1000);
    for (const key of [keyA, keyB]) {
      const bare = createBareRemote('pagination', path.join(tmp, `${key}.git`));
      const p = await upsertProject(stack.prisma, { key, name: key, repoOwner: 'acme', repoName: key, cloneUrl: bare, validation: { test: 'npm test' } });
      projects[key] = { id: p.id, intakeKey: await issueIntakeKey(stack.prisma, p.id) };
    }
    admin.operator = (await createAdminToken(stack.prisma, admin.name, 'OPERATOR')).token;
    admin.admin = (await createAdminToken(stack.prisma, `ks-admin-${suffix}`, 'ADMIN')).token;
    admin.viewer = (await createAdminToken(stack.prisma, `ks-viewer-${suffix}`, 'VIEWER')).token;
    // Started here with a short sweep and a small history limit, so both are exercised; the
    // activations below find it (USE_EXISTING) exactly as they would find a production controller.
    await stack.temporal.workflow.start<typeof safetyControllerWorkflow>('safetyControllerWorkflow', {
      taskQueue: queue,
      workflowId: safetyControllerId(queue),
      args: [{ sweepIntervalMs: 1000, historyLimit: 80 }],
    });
  });

  afterAll(async () => {
    await stack.temporal.workflow
      .getHandle(safetyControllerId(queue))
      .terminate('test over')
      .catch(() => undefined);
    for await (const w of stack.temporal.workflow.list({ query: runningFixesQuery('global', queue) })) {
      await stack.temporal.workflow
        .getHandle(w.workflowId)
        .terminate('test over')
        .catch(() => undefined);
    }
    const docker = new Docker();
    for (const key of [keyA, keyB]) {
      for (const c of await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.project}=${key}`] } }))
        await docker.getContainer(c.Id).remove({ force: true });
    }
    await stack.prisma.adminToken.deleteMany({ where: { name: { endsWith: suffix } } });
    // Stored switches outlive the controller: left behind, they would refuse other tests' fixes.
    await stack.prisma.activeKillSwitch.deleteMany({ where: { taskQueue: queue, OR: [{ actor: tester }, { scope: { endsWith: suffix } }] } });
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const http = () => request(stack.httpUrl);
  const file = (key: string, title: string) =>
    http().post('/api/bugs').set('authorization', `Bearer ${projects[key]!.intakeKey}`).send({ title, description: 'Keeps the agent busy.' });

  async function fileRunning(key: string, title: string): Promise<string> {
    const res = await file(key, title);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const handle = stack.temporal.workflow.getHandle(res.body.workflowId as string);
    await expect.poll(async () => (await handle.query(statusQuery)).iteration, { timeout: 60_000, interval: 200 }).toBeGreaterThanOrEqual(1);
    return handle.workflowId;
  }

  async function expectKilled(workflowId: string, reason: RegExp) {
    const outcome = (await stack.temporal.workflow.getHandle(workflowId).result()) as FixOutcome;
    expect(outcome.status).toBe('cancelled');
    expect(outcome.reason).toMatch(reason);
    const left = await new Docker().listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${workflowId}`] } });
    expect(left).toEqual([]);
    const row = await stack.prisma.bugReport.findFirstOrThrow({ where: { workflowId } });
    expect(row.status).toBe('CANCELLED');
  }

  const running: Record<string, string[]> = { [keyA]: [], [keyB]: [] };

  test('invalid requests are refused by the validator and change nothing', async () => {
    await expect(activateKillSwitch(stack, queue, { scope: 'everything', reason: 'x', actor: tester })).rejects.toMatchObject({
      kind: 'rejected',
      message: expect.stringMatching(/invalid scope "everything"/),
    });
    await expect(activateKillSwitch(stack, queue, { scope: 'project:Not A Key', reason: 'x', actor: tester })).rejects.toMatchObject({ kind: 'rejected' });
    await expect(activateKillSwitch(stack, queue, { scope: 'global', reason: '   ', actor: tester })).rejects.toThrow(/needs a reason/);
    await expect(activateKillSwitch(stack, queue, { scope: 'global', reason: 'x', actor: '' })).rejects.toThrow(/needs an actor/);
    await expect(deactivateKillSwitch(stack, queue, { scope: 'global', reason: 'x', actor: tester })).rejects.toThrow(/no kill switch global is active/);
    expect((await readSafetyState(stack, queue)).switches).toEqual([]);
    // The API refuses before the controller sees it; lifting needs an admin; unknown projects are named.
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    expect((await http().post('/admin/kill-switches').set(auth(admin.operator)).send({ scope: 'nope', reason: 'x' })).status).toBe(400);
    expect((await http().post('/admin/kill-switches').set(auth(admin.viewer)).send({ scope: 'global', reason: 'x' })).status).toBe(403);
    expect((await http().post('/admin/kill-switches/deactivate').set(auth(admin.operator)).send({ scope: 'global', reason: 'x' })).status).toBe(403);
    const unknown = await http()
      .post('/admin/kill-switches')
      .set(auth(admin.operator))
      .send({ scope: `project:none-${suffix}`, reason: 'x' });
    expect(unknown.status).toBe(404);
    expect(await stack.prisma.safetyEvent.count({ where: { kind: 'kill-switch-activated', actor: tester } })).toBe(0);
  });

  test("a project switch kills only that project's running fixes and refuses its new ones", async () => {
    running[keyA] = await Promise.all([fileRunning(keyA, 'A one'), fileRunning(keyA, 'A two')]);
    running[keyB] = [await fileRunning(keyB, 'B one')];

    const res = await http()
      .post('/admin/kill-switches')
      .set('authorization', `Bearer ${admin.operator}`)
      .send({ scope: `project:${keyA}`, reason: 'bad deploy' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect([...res.body.signalled].sort()).toEqual([...running[keyA]!].sort());
    for (const id of running[keyA]!) await expectKilled(id, new RegExp(`killed by admin:${admin.name}: kill switch project:${keyA}: bad deploy`));

    const b = stack.temporal.workflow.getHandle(running[keyB]![0]!);
    expect((await b.describe()).status.name).toBe('RUNNING');
    expect((await b.query(statusQuery)).phase).not.toMatch(/cancelled|cleaning-up/);

    const refused = await file(keyA, 'A three');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe(`kill switch project:${keyA} is active (by admin:${admin.name}): bad deploy`);
    expect(await stack.prisma.bugReport.count({ where: { projectId: projects[keyA]!.id, title: 'A three' } })).toBe(0);
    running[keyB]!.push(await fileRunning(keyB, 'B two'));

    const event = await stack.prisma.safetyEvent.findFirstOrThrow({ where: { kind: 'kill-switch-activated', projectId: projects[keyA]!.id } });
    expect(event).toMatchObject({ severity: 'critical', actor: `admin:${admin.name}`, workflowId: safetyControllerId(queue) });
    expect((event.details as { signalled: string[] }).signalled.sort()).toEqual([...running[keyA]!].sort());
    const listed = await http().get('/admin/kill-switches').set('authorization', `Bearer ${admin.viewer}`);
    expect(listed.body.switches).toMatchObject([{ scope: `project:${keyA}`, reason: 'bad deploy', actor: `admin:${admin.name}` }]);
  });

  test("lifting the switch lets the project's new fixes in again", async () => {
    const res = await http()
      .post('/admin/kill-switches/deactivate')
      .set('authorization', `Bearer ${admin.admin}`)
      .send({ scope: `project:${keyA}`, reason: 'fixed the deploy' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.lifted).toMatchObject({ scope: `project:${keyA}`, reason: 'bad deploy' });
    running[keyA] = [await fileRunning(keyA, 'A four')];
    expect(await stack.prisma.safetyEvent.count({ where: { kind: 'kill-switch-deactivated', projectId: projects[keyA]!.id } })).toBe(1);
  });

  test('a global switch from the CLI kills every running fix', async () => {
    const all = [...running[keyA]!, ...running[keyB]!];
    expect(all).toHaveLength(3);
    const on = await cli(['kill-switch', 'on', '--reason', 'incident 42']);
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toMatch(/^kill switch global active: kill sent to 3 running fix\(es\)/);
    for (const id of all) expect(on.stdout).toContain(id);
    for (const id of all) await expectKilled(id, /kill switch global: incident 42$/);
    expect((await stack.temporal.workflow.count(runningFixesQuery('global', queue))).count).toBe(0);

    const refused = await file(keyB, 'B three');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/^kill switch global is active \(by cli:.+\): incident 42$/);
    const status = await cli(['kill-switch', 'status', '--json']);
    expect(JSON.parse(status.stdout).switches).toMatchObject([{ scope: 'global', reason: 'incident 42' }]);
  });

  test('a fix started without going through intake is refused at its start; the switches survive continue-as-new', async () => {
    const workflowId = `bugfix-${keyB}-unasked`;
    const bug = await stack.prisma.bugReport.create({
      data: { projectId: projects[keyB]!.id, externalId: 'unasked', workflowId, title: 'Started directly', description: 'Bypasses intake.' },
    });
    await stack.temporal.workflow.start('bugFixWorkflow', {
      taskQueue: queue,
      workflowId,
      args: [{ bugId: bug.id, projectId: projects[keyB]!.id, projectKey: keyB, budgets: { maxIterations: 10_000 } } satisfies FixInput],
      typedSearchAttributes: [
        { key: BugIdKey, value: bug.id },
        { key: ProjectKeyKey, value: keyB },
      ],
    });
    // The workflow's own admission check (bugFixWorkflow asks the controller before any work).
    await expectKilled(workflowId, /^kill switch global is active .*: incident 42$/);
    expect(await stack.prisma.ledgerEntry.count({ where: { workflowId } })).toBe(0);

    await expect.poll(async () => (await readSafetyState(stack, queue)).continuedRuns, { timeout: 90_000, interval: 500 }).toBeGreaterThan(0);
    const state = await readSafetyState(stack, queue);
    expect(state.switches).toMatchObject([{ scope: 'global', reason: 'incident 42' }]);
    // The continued run started with the switches in its memo: intake reads them before that
    // run's first workflow task (a busy or stopped worker), never an empty memo.
    const started = (await stack.temporal.workflow.getHandle(safetyControllerId(queue)).fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
    expect(Object.keys(started.memo?.fields ?? {})).toContain(KILL_SWITCHES_MEMO);
  });

  test('the admission check for bugFixWorkflow refuses in scope; a never-started controller refuses nothing', async () => {
    const acts = createSafetyActivities({ prisma: stack.prisma, temporal: stack.temporal });
    const refused = await new MockActivityEnvironment().run(acts.admissionCheck, { projectKey: keyA });
    expect(refused).toEqual({ allowed: false, reason: expect.stringMatching(/^kill switch global is active .*: incident 42$/) });
    expect(await admission(stack, `never-started-${suffix}`, keyA)).toEqual({ allowed: true });
  });

  test('lifting the global switch from the CLI lets new fixes in', async () => {
    const off = await cli(['kill-switch', 'off', '--reason', 'incident over']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/^kill switch global lifted/);
    const again = await cli(['kill-switch', 'off', '--reason', 'twice']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('bugfix: no kill switch global is active\n');
    const accepted = await file(keyB, 'B four');
    expect(accepted.status).toBe(202);
    const started = await waitForFixStart(stack.temporal, accepted.body.workflowId as string);
    await started.cancel();
    await expect(started.result()).rejects.toThrow();
  });

  test('budget switches are pressed only by the budget evaluator: the CLI and the API refuse them on, not off', async () => {
    try {
      const on = await cli(['kill-switch', 'on', '--scope', `budget:${keyB}`, '--reason', 'my own stop']);
      expect(on.code).toBe(1);
      expect(on.stderr).toMatch(
        /^bugfix: invalid input: scope: budget and budget:<key> are pressed only by the budget evaluator[^\n]*use global or project:<key>[^\n]*\n$/,
      );
      const api = await http().post('/admin/kill-switches').set('authorization', `Bearer ${admin.operator}`).send({ scope: 'budget', reason: 'my own stop' });
      expect(api.status).toBe(400);
      expect(api.body.problems).toEqual([{ path: 'scope', message: expect.stringMatching(/budget evaluator/) }]);
      expect((await readSafetyState(stack, queue)).switches).toEqual([]);
      const off = await cli(['kill-switch', 'off', '--scope', 'budget', '--reason', 'approved overspend']);
      expect(off.stderr).toBe('bugfix: no kill switch budget is active\n');
    } finally {
      // Without the refusal these would stop every later test's fixes.
      for (const scope of ['budget', `budget:${keyB}`])
        await deactivateKillSwitch(stack, queue, { scope, reason: 'test cleanup', actor: tester }).catch(() => undefined);
    }
  });

  test('a stored switch refuses with the controller gone; with no readable state nothing is admitted', async () => {
    const scope = `project:${keyA}`;
    await activateKillSwitch(stack, queue, { scope, reason: 'stored first', actor: tester });
    expect(await stack.prisma.activeKillSwitch.findUnique({ where: { taskQueue_scope: { taskQueue: queue, scope } } })).toMatchObject({ actor: tester });
    // The controller terminated (or lost): no memo, no query. The stored switch still refuses.
    await stack.temporal.workflow.getHandle(safetyControllerId(queue)).terminate('controller lost');
    expect(await admission(stack, queue, keyA)).toEqual({ allowed: false, reason: `kill switch ${scope} is active (by ${tester}): stored first` });
    expect((await file(keyA, 'A refused without a controller')).status).toBe(409);
    expect(await admission(stack, queue, keyB)).toEqual({ allowed: true });
    // Neither PostgreSQL nor a running controller answers: refuse, never admit.
    const down = { activeKillSwitch: { findMany: () => Promise.reject(new Error('connection refused')) } } as unknown as PrismaClient;
    await expect(admission({ temporal: stack.temporal, prisma: down }, `never-started-${suffix}`, keyB)).rejects.toThrow(KillSwitchStateUnreadable);
    // Lifted from the table alone: there is no controller to ask.
    expect(await deactivateKillSwitch(stack, queue, { scope, reason: 'over', actor: tester })).toMatchObject({ scope, actor: tester });
    expect(await admission(stack, queue, keyA)).toEqual({ allowed: true });
  });

  test("with no worker running, intake still sees an active switch (from the controller's memo)", async () => {
    await activateKillSwitch(stack, queue, { scope: `project:${keyA}`, reason: 'workers going down', actor: tester });
    await stack.workers.shutdown();
    expect(await admission(stack, queue, keyA)).toEqual({
      allowed: false,
      reason: `kill switch project:${keyA} is active (by ${tester}): workers going down`,
    });
    const refused = await file(keyA, 'A five');
    expect(refused.status).toBe(409);
    expect(await admission(stack, queue, keyB)).toEqual({ allowed: true });
  });
});
