/**
 * Steering a running fix on a real Temporal server: pause holds it (no model call), a hint reaches
 * the next model request, a raised budget lets it finish, the token and time budgets stop it with
 * their reasons, and kill/cancel interrupt the step in flight (the slow model call is aborted, the
 * long command does not run to its end) and still remove the sandbox.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WithStartWorkflowOperation, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { SANDBOX_LABELS } from '../../src/sandbox/container.js';
import { startStack, type Stack } from '../../dev/local-stack.js';
import type { FixInput, FixOutcome } from '../../src/domain/fix/fix.js';
import { fixBranchName } from '../../src/domain/fix/ids.js';
import { totalTokens } from '../../src/domain/fix/pricing.js';
import { taskQueues } from '../../temporal.config.js';
import { hintSignal, killSignal, pauseSignal, raiseBudgetUpdate, resumeSignal, statusQuery } from '../../workflows/bug-fix/messages.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import type { ModelScript } from '../../dev/stand-ins/anthropic-api.js';

const wandering: ModelScript = () => [{ type: 'tool_use', name: 'list_files', input: {} }];
const sleeper: ModelScript = () => [{ type: 'tool_use', name: 'run_command', input: { command: 'sleep 300', timeout_seconds: 600 } }];

describe('steering a fix', () => {
  let stack: Stack;
  let projectId: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-control-'));
  const suffix = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    stack = await startStack({ script: wandering, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
    projectId = (await createFixtureProject(stack.prisma, stack.github, { key: `control-${suffix}`, repo: 'control', dir: tmp })).project.id;
  });
  afterEach(() => stack.anthropic!.setDelay(0));
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function startFix(name: string, script: ModelScript, budgets?: FixInput['budgets'], extra: Partial<FixInput> = {}) {
    stack.anthropic!.setScript(script);
    const workflowId = `bugfix-control-${suffix}-${name}`;
    const bug = await stack.prisma.bugReport.create({
      data: { projectId, externalId: name, workflowId, title: `Control ${name}`, description: 'Steering test.' },
    });
    const handle = await stack.temporal.workflow.start('bugFixWorkflow', {
      taskQueue: taskQueues.main,
      workflowId,
      args: [{ bugId: bug.id, projectId, projectKey: `control-${suffix}`, budgets, ...extra } satisfies FixInput],
    });
    return { bug, handle };
  }
  const sandboxesOf = (workflowId: string) => new Docker().listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${workflowId}`] } });
  const requestsFor = (workflowId: string) =>
    stack.anthropic!.received.filter((r) => JSON.stringify(r.messages[0]).includes(`Control ${workflowId.split('-').pop()}`));

  test('pause holds the fix, a hint reaches the next model call, a raised budget lets it finish', async () => {
    stack.anthropic!.setDelay(150);
    const { handle } = await startFix('steer', paginationScenario, { maxIterations: 6 });
    await expect.poll(async () => (await handle.query(statusQuery)).iteration, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(1);
    await handle.signal(pauseSignal);
    await expect.poll(async () => (await handle.query(statusQuery)).paused).toBe(true);

    // Paused: once the step in flight ends, nothing new starts.
    const settle = async () => {
      const n = requestsFor(handle.workflowId).length;
      await new Promise((r) => setTimeout(r, 1500));
      return requestsFor(handle.workflowId).length === n ? n : -1;
    };
    await expect.poll(settle, { timeout: 20_000, interval: 0 }).toBeGreaterThan(0);
    const heldAt = requestsFor(handle.workflowId).length;
    await new Promise((r) => setTimeout(r, 2000));
    expect(requestsFor(handle.workflowId).length).toBe(heldAt);

    // Budgets: refused when lowered below use or negative; accepted when raised.
    await expect(handle.executeUpdate(raiseBudgetUpdate, { args: [{ maxIterations: 0 }] })).rejects.toThrow(WorkflowUpdateFailedError);
    await expect(handle.executeUpdate(raiseBudgetUpdate, { args: [{ maxCostUsd: -1 }] })).rejects.toThrow(WorkflowUpdateFailedError);
    const raised = await handle.executeUpdate(raiseBudgetUpdate, { args: [{ maxIterations: 15 }] });
    expect(raised.maxIterations).toBe(15);

    await handle.signal(hintSignal, 'the page number is 1-based');
    await handle.signal(resumeSignal);
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome).toMatchObject({ status: 'pr_created', iterations: 9 });
    const next = requestsFor(handle.workflowId)[heldAt]!;
    expect(JSON.stringify(next.messages[next.messages.length - 1])).toContain('Hint from an engineer: the page number is 1-based');
  });

  test('the token budget stops the fix with its reason, before a call would overshoot it', async () => {
    const { handle } = await startFix('tokens', wandering, { maxTokens: 5000 });
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/^token budget exhausted \(\d+ tokens left; the next model call needs about \d+ for its prompt and 1024 for an answer\)$/);
    expect(totalTokens(outcome.usage)).toBeLessThanOrEqual(5000);
  });

  test('the time budget interrupts a slow model call', async () => {
    stack.anthropic!.setDelay(120_000);
    const abortedBefore = stack.anthropic!.aborted;
    // Long enough for provisioning, the baseline validation and the briefing to reach the model call on a loaded machine.
    const { bug, handle } = await startFix('time', wandering, { maxDurationMs: 12_000 });
    await expect.poll(() => stack.anthropic!.inFlight(), { timeout: 12_000 }).toBe(1);
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome).toMatchObject({ status: 'failed', reason: 'time budget exhausted (12 s)' });
    // The abort travels by heartbeat to the activity after the outcome is recorded: under a loaded run (CI) that took over the default 1 s.
    await expect.poll(() => stack.anthropic!.aborted, { timeout: 15_000 }).toBe(abortedBefore + 1);
    expect(await sandboxesOf(handle.workflowId)).toEqual([]);
    expect((await stack.prisma.bugReport.findUniqueOrThrow({ where: { id: bug.id } })).status).toBe('FAILED');
  });

  test('kill interrupts an in-flight model call', async () => {
    stack.anthropic!.setDelay(120_000);
    const abortedBefore = stack.anthropic!.aborted;
    const { handle } = await startFix('kill', wandering);
    await expect.poll(() => stack.anthropic!.inFlight(), { timeout: 30_000 }).toBe(1);
    await handle.signal(killSignal, { reason: 'enough', actor: 'ops' });
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome).toMatchObject({ status: 'cancelled', reason: 'killed by ops: enough', iterations: 1 });
    // The abort travels by heartbeat to the activity after the outcome is recorded: under a loaded run (CI) that took over the default 1 s.
    await expect.poll(() => stack.anthropic!.aborted, { timeout: 15_000 }).toBe(abortedBefore + 1);
    expect(await sandboxesOf(handle.workflowId)).toEqual([]);
  });

  test('cancel interrupts a running command and ends the run as cancelled', async () => {
    const { bug, handle } = await startFix('cancel', sleeper);
    await expect
      .poll(async () => (await handle.describe()).raw.pendingActivities?.some((a) => a.activityType?.name === 'runTools'), { timeout: 30_000 })
      .toBe(true);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await sandboxesOf(handle.workflowId)).toEqual([]);
    const row = await stack.prisma.bugReport.findUniqueOrThrow({ where: { id: bug.id } });
    expect(row).toMatchObject({ status: 'CANCELLED', statusReason: 'cancelled through Temporal' });
  });

  test('a long fix continues as new with its state, and finishes as one fix', async () => {
    const { handle } = await startFix('long', paginationScenario, undefined, { historyLimit: 40 });
    const firstRunId = (await handle.describe()).runId;
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome).toMatchObject({ status: 'pr_created', iterations: 9 });
    const last = await handle.describe();
    expect(last.runId).not.toBe(firstRunId);
    expect(await stack.prisma.ledgerEntry.count({ where: { workflowId: handle.workflowId } })).toBe(9);
    // Spend carried across runs: the outcome's cost is the whole ledger's.
    const ledger = await stack.prisma.ledgerEntry.findMany({ where: { workflowId: handle.workflowId } });
    expect(ledger.reduce((s, l) => s + Number(l.costUsd), 0)).toBeCloseTo(outcome.costUsd, 8);
    expect(await sandboxesOf(handle.workflowId)).toEqual([]);
  });

  test('a pause sent at the start holds even the first validation; a hint sent then reaches the model', async () => {
    const { handle } = await startFix('early', paginationScenario);
    await handle.signal(pauseSignal);
    await handle.signal(hintSignal, 'look at the offset');
    await new Promise((r) => setTimeout(r, 4000));
    const scheduled = (await handle.fetchHistory()).events!.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(scheduled).not.toContain('runValidation');
    expect(scheduled).not.toContain('callModel');
    expect((await handle.query(statusQuery)).paused).toBe(true);

    await handle.signal(resumeSignal);
    expect(await handle.result()).toMatchObject({ status: 'pr_created' });
    // The first call has no follow-up to carry it: the hint goes with the second.
    const second = requestsFor(handle.workflowId)[1]!;
    expect(JSON.stringify(second.messages[second.messages.length - 1])).toContain('Hint from an engineer: look at the offset');
  });

  test("the project's budgets apply to its fixes; a starter's own budgets win over them", async () => {
    await stack.prisma.project.update({ where: { id: projectId }, data: { budgets: { maxIterations: 2 } } });
    try {
      const byProject = await startFix('project-budget', wandering);
      expect(await byProject.handle.result()).toMatchObject({ status: 'failed', reason: 'iteration budget exhausted (2)' });
      const byStarter = await startFix('starter-budget', wandering, { maxIterations: 3 });
      expect(await byStarter.handle.result()).toMatchObject({ status: 'failed', reason: 'iteration budget exhausted (3)' });
    } finally {
      await stack.prisma.project.update({ where: { id: projectId }, data: { budgets: {} } });
    }
  });

  test("a budget raised before the fix read its project's budgets stays raised", async () => {
    await stack.prisma.project.update({ where: { id: projectId }, data: { budgets: { maxIterations: 2 } } });
    try {
      stack.anthropic!.setScript(wandering);
      const workflowId = `bugfix-control-${suffix}-raised-early`;
      const bug = await stack.prisma.bugReport.create({
        data: { projectId, externalId: 'raised-early', workflowId, title: 'Control raised-early', description: 'Steering test.' },
      });
      // With start: the raise is the workflow's first task, before it loads the project.
      const start = new WithStartWorkflowOperation('bugFixWorkflow', {
        taskQueue: taskQueues.main,
        workflowId,
        workflowIdConflictPolicy: 'FAIL',
        args: [{ bugId: bug.id, projectId, projectKey: `control-${suffix}` } satisfies FixInput],
      });
      await stack.temporal.workflow.executeUpdateWithStart(raiseBudgetUpdate, { args: [{ maxIterations: 3 }], startWorkflowOperation: start });
      expect(await (await start.workflowHandle()).result()).toMatchObject({ status: 'failed', reason: 'iteration budget exhausted (3)' });
    } finally {
      await stack.prisma.project.update({ where: { id: projectId }, data: { budgets: {} } });
    }
  });

  test('a kill while the pull request is being opened opens none', async () => {
    // The look for an existing PR is held: the kill lands while delivery is under way.
    stack.github!.fault({ pathPart: '/pulls', method: 'GET', holdMs: 6000 });
    const { bug, handle } = await startFix('kill-delivery', paginationScenario);
    await expect.poll(() => stack.github!.held(), { timeout: 90_000, interval: 100 }).toBe(1);
    await handle.signal(killSignal, { reason: 'not now', actor: 'ops' });
    expect(await handle.result()).toMatchObject({ status: 'cancelled', reason: 'killed by ops: not now' });
    await new Promise((r) => setTimeout(r, 7000)); // past the hold: a delivery still running would open it now
    expect(stack.github!.pulls('acme', 'control').filter((p) => p.head === fixBranchName(bug.id))).toEqual([]);
    expect(await sandboxesOf(handle.workflowId)).toEqual([]);
  });
});
