/**
 * The fix workflow on a real Temporal server with stand-in activities (no Docker, no model, no
 * database): what its budgets, pause/resume, kill and hints do, seen through the activities it
 * calls and the outcome it records. One worker serves both the shared queue and the "host" queue
 * (provisionSandbox answers with this file's own task queue).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { FixBudgets, FixInput, FixOutcome, ValidationGateResult } from '../../src/domain/fix/fix.js';
import { SANDBOX_GONE } from '../../src/domain/fix/sandbox-errors.js';
import { connectClient, connectWorker } from '../../src/temporal/connect.js';
import { dataConverter } from '../../src/temporal/payload-keys.js';
import { taskQueues } from '../../temporal.config.js';
import { hintSignal, killSignal, pauseSignal, raiseBudgetUpdate, resumeSignal, statusQuery } from '../../workflows/bug-fix/messages.js';
import type { bugFixWorkflow } from '../../workflows/bug-fix/workflow.js';

type CallModelInput = Parameters<Activities['callModel']>[0];

/** What one fix's stand-ins do and what they saw. */
interface Script {
  /** the iteration whose tools report task_complete (never when omitted) */
  completeAt?: number;
  /** a model call of this iteration waits for the workflow to cancel it */
  hangAt?: number;
  /** model calls of these iterations wait until the test releases them (release(iteration)) */
  holdAt?: number[];
  /** model calls of these iterations answer without tool calls */
  toollessAt?: number[];
  /** the model call of this iteration finds the budgets too low for a useful call and makes none */
  budgetStopAt?: number;
  /** the first attempts of these iterations' tools find their sandbox gone: iteration → losses */
  loseSandboxAt?: Record<number, number>;
  /** this call of provisionSandbox (1 = the first) waits until the test calls releaseProvision */
  holdProvisionAt?: number;
  releaseProvision?: () => void;
  /** the first validation finds its container gone (the sandbox is provisioned again) */
  loseSandboxOnce?: boolean;
  calls: Array<{ name: string; input: unknown }>;
  modelCancelled: boolean;
  holds: Map<number, { held: Promise<void>; release: () => void }>;
}

const WORKFLOWS_PATH = new URL('../../workflows/index.ts', import.meta.url).pathname;
const scripts = new Map<string, Script>();
const suffix = Math.random().toString(36).slice(2, 8);
const PASSED: ValidationGateResult[] = [{ gate: 'test', command: 'npm test', passed: true, exitCode: 0, durationMs: 5, output: 'ok' }];

/** The script of the fix whose activity this is, with the call recorded. */
function seen(name: string, input: unknown): Script {
  const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
  const s = scripts.get(workflowId);
  if (!s) throw new Error(`no script for workflow ${workflowId}`);
  s.calls.push({ name, input });
  return s;
}

const standIns: Partial<Activities> = {
  async admissionCheck(input) {
    seen('admissionCheck', input);
    return { allowed: true };
  },
  async startFix(input) {
    seen('startFix', input);
    return {
      bugId: input.bugId,
      title: 'Pagination skips a row',
      description: 'Page 2 starts one row late.',
      projectKey: 'wf',
      repoOwner: 'acme',
      repoName: 'shop',
      cloneUrl: 'https://example.invalid/acme/shop.git',
      defaultBranch: 'main',
      validation: { test: 'npm test' },
      scopeLimits: {},
      prDraft: false,
      prLabels: [],
      githubIssueNumber: null,
      budgets: {},
    };
  },
  async provisionSandbox(req) {
    const s = seen('provisionSandbox', req);
    const n = callsTo(s, 'provisionSandbox').length;
    if (n === s.holdProvisionAt) await new Promise<void>((resolve) => (s.releaseProvision = resolve));
    return { containerId: `container-${req.workflowId}${n > 1 ? `-${n}` : ''}`, hostQueue: taskQueues.main, baseSha: 'base-sha' };
  },
  async runValidation(input) {
    const s = seen('runValidation', input);
    if (s.loseSandboxOnce && callsTo(s, 'runValidation').length === 1) throw ApplicationFailure.nonRetryable('no such container', SANDBOX_GONE);
    return PASSED;
  },
  async prepareBriefing(input) {
    seen('prepareBriefing', input);
    return { instructionFiles: [] };
  },
  async verifyReproduction(input) {
    seen('verifyReproduction', input);
    return { status: 'verified', testFiles: ['test/paginate.test.js'], baseRun: { exitCode: 1, output: 'not ok 1' } };
  },
  async callModel(input: CallModelInput) {
    const s = seen('callModel', input);
    if (input.iteration === s.hangAt) {
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), 50);
      try {
        await ctx.cancelled;
      } catch (err) {
        s.modelCancelled = true;
        throw err;
      } finally {
        clearInterval(beat);
      }
    }
    await s.holds.get(input.iteration)?.held;
    if (input.iteration === s.budgetStopAt) {
      const none = { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0 };
      return {
        toolCallCount: 0,
        toolNames: [],
        stopReason: null,
        usage: none,
        costUnits: 0,
        model: 'stand-in',
        text: '',
        budgetStop: 'token budget exhausted (too few left)',
      };
    }
    const tools = s.toollessAt?.includes(input.iteration) ? [] : ['edit_file'];
    return {
      toolCallCount: tools.length,
      toolNames: tools,
      stopReason: tools.length ? 'tool_use' : 'end_turn',
      usage: { inputTokens: 100, outputTokens: 20, cacheCreationTokens: 0, cacheReadTokens: 0 },
      costUnits: 1000,
      model: 'stand-in',
      text: '',
    };
  },
  async runTools(input) {
    const s = seen('runTools', input);
    const attempts = s.calls.filter((c) => c.name === 'runTools' && (c.input as { iteration: number }).iteration === input.iteration).length;
    if (attempts <= (s.loseSandboxAt?.[input.iteration] ?? 0))
      throw ApplicationFailure.nonRetryable(`sandbox container ${input.containerId} is gone (removed)`, SANDBOX_GONE);
    const done = input.iteration === s.completeAt;
    return {
      actions: [`iteration ${input.iteration}: edited`],
      errors: 0,
      commandMs: 1,
      completion: done ? { summary: 'Fixed the offset.', filesChanged: ['src/page.ts'] } : undefined,
    };
  },
  async deliverFix(input) {
    seen('deliverFix', input);
    return { url: 'https://example.invalid/acme/shop/pull/7', number: 7, branch: input.branch };
  },
  async removeSandbox(input) {
    seen('removeSandbox', input);
    return { removed: true };
  },
  async removeSandboxesOf(input) {
    seen('removeSandboxesOf', input);
    return { removed: 0 };
  },
  async recordOutcome(input) {
    seen('recordOutcome', input);
  },
  async notificationChannels(input) {
    seen('notificationChannels', input);
    return ['webhook'];
  },
  async sendNotification(input) {
    seen('sendNotification', input);
    return { sent: true };
  },
};

// A fix that does not stop as it should fails its test in seconds instead of hanging it.
vi.setConfig({ testTimeout: 30_000 });

let client: Client;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
const started: WorkflowHandle[] = [];

beforeAll(async () => {
  client = await connectClient();
  const { connection: workerConnection, namespace } = await connectWorker();
  connection = workerConnection;
  worker = await Worker.create({
    connection,
    namespace,
    taskQueue: taskQueues.main,
    // The product's workflows, bundled here: importing src/worker.ts would load every real activity.
    workflowsPath: WORKFLOWS_PATH,
    dataConverter: dataConverter(),
    activities: standIns,
    // A kill reaches the hanging model call by its next heartbeat: send them often.
    maxHeartbeatThrottleInterval: '100 milliseconds',
    defaultHeartbeatThrottleInterval: '100 milliseconds',
  });
  running = worker.run();
});

afterAll(async () => {
  for (const h of started) await h.terminate('test cleanup').catch(() => undefined);
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.connection.close();
});

async function startFix(name: string, script: Partial<Script>, budgets?: Partial<FixBudgets>, extra: Partial<FixInput> = {}) {
  const workflowId = `bugfix-wf-${suffix}-${name}`;
  const s: Script = { calls: [], modelCancelled: false, holds: new Map(), ...script };
  for (const iteration of s.holdAt ?? []) {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    s.holds.set(iteration, { held, release });
  }
  scripts.set(workflowId, s);
  const handle = await client.workflow.start<typeof bugFixWorkflow>('bugFixWorkflow', {
    taskQueue: taskQueues.main,
    workflowId,
    args: [{ bugId: `bug-${name}`, projectId: 'project-wf', projectKey: 'wf', budgets, ...extra } satisfies FixInput],
  });
  started.push(handle);
  return { handle, s };
}

const release = (s: Script, iteration: number) => s.holds.get(iteration)!.release();
const callsTo = (s: Script, name: string) => s.calls.filter((c) => c.name === name);
const modelCalls = (s: Script) => callsTo(s, 'callModel').map((c) => c.input as CallModelInput);
const recorded = (s: Script) => callsTo(s, 'recordOutcome').map((c) => (c.input as { outcome: FixOutcome }).outcome);
/** Waits until the fix's model call of this iteration has started. */
const modelStarted = (s: Script, iteration: number) =>
  expect.poll(() => modelCalls(s).some((c) => c.iteration === iteration), { timeout: 10_000, interval: 20 }).toBe(true);

describe('budgets', () => {
  test('an exhausted iteration budget stops the fix as failed and names the budget', async () => {
    const { handle, s } = await startFix('iterations', {}, { maxIterations: 2 });
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'failed', reason: 'iteration budget exhausted (2)', iterations: 2 });
    expect(modelCalls(s)).toHaveLength(2);
    expect(callsTo(s, 'deliverFix')).toHaveLength(0);
    expect(recorded(s)).toEqual([outcome]);
  });

  test('each model call is told what the budgets leave; one that finds too little stops the fix with its reason', async () => {
    const { handle, s } = await startFix('call-budget', { budgetStopAt: 3 }, { maxTokens: 10_000, maxCostUsd: 1 });
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'failed', reason: 'token budget exhausted (too few left)' });
    // Each stand-in call spends 120 tokens and 1,000 cost units.
    expect(modelCalls(s).map((c) => c.budgetLeft)).toEqual([
      { tokens: 10_000, costUnits: 100_000_000 },
      { tokens: 9880, costUnits: 99_999_000 },
      { tokens: 9760, costUnits: 99_998_000 },
    ]);
    expect(callsTo(s, 'runTools')).toHaveLength(2);
    expect(callsTo(s, 'removeSandbox')).toHaveLength(1);
    expect(recorded(s)).toEqual([outcome]);
  });

  test('a raise below what is spent is refused; a raise above it lets the fix continue', async () => {
    const { handle, s } = await startFix('raise', { completeAt: 4, holdAt: [2] }, { maxIterations: 2 });
    await modelStarted(s, 2);

    const refused = handle.executeUpdate(raiseBudgetUpdate, { args: [{ maxIterations: 1 }] });
    await expect(refused).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    await expect(refused).rejects.toMatchObject({ cause: { message: expect.stringContaining('below what the fix has already used') } });
    expect((await handle.query(statusQuery)).budgets.maxIterations).toBe(2);

    const inForce = await handle.executeUpdate(raiseBudgetUpdate, { args: [{ maxIterations: 5 }] });
    expect(inForce.maxIterations).toBe(5);
    release(s, 2);

    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'pr_created', iterations: 4, pr: { number: 7 } });
    expect(modelCalls(s).map((c) => c.iteration)).toEqual([1, 2, 3, 4]);
  });
});

test('pause holds the fix between steps (no tools, no model call start); resume lets it finish', async () => {
  // Iteration 1 asks for tools (held before they run), iteration 2 does not (held before the next model call).
  const { handle, s } = await startFix('pause', { completeAt: 4, holdAt: [1, 2], toollessAt: [2] });
  const heldAfter = async (iteration: number, toolRuns: number) => {
    await modelStarted(s, iteration);
    await handle.signal(pauseSignal);
    release(s, iteration);
    await expect.poll(async () => (await handle.query(statusQuery)).paused, { timeout: 5_000, interval: 20 }).toBe(true);
    // Long enough for the stand-ins to have answered several more steps, were the fix not held.
    const until = Date.now() + 1000;
    while (Date.now() < until) {
      expect(modelCalls(s)).toHaveLength(iteration);
      expect(callsTo(s, 'runTools')).toHaveLength(toolRuns);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await handle.query(statusQuery)).toMatchObject({ paused: true, iteration, phase: 'fixing' });
    await handle.signal(resumeSignal);
  };
  await heldAfter(1, 0);
  await heldAfter(2, 1);

  const outcome = await handle.result();
  expect(outcome).toMatchObject({ status: 'pr_created', iterations: 4 });
  expect(modelCalls(s)).toHaveLength(4);
});

test('kill cancels the model call in flight, ends the fix cancelled with its reason, and still cleans up', async () => {
  const { handle, s } = await startFix('kill', { hangAt: 2 });
  await modelStarted(s, 2);
  await handle.signal(killSignal, { reason: 'wrong repository', actor: 'tester' });

  const outcome = await handle.result();
  expect(outcome).toMatchObject({ status: 'cancelled', reason: 'killed by tester: wrong repository', iterations: 2 });
  // The stand-in saw the cancellation (through its heartbeats), not just the workflow moving on.
  await expect.poll(() => s.modelCancelled, { timeout: 10_000, interval: 20 }).toBe(true);
  expect(callsTo(s, 'runTools').map((c) => (c.input as { iteration: number }).iteration)).toEqual([1]);
  expect(callsTo(s, 'removeSandbox').map((c) => c.input)).toEqual([{ containerId: `container-${handle.workflowId}`, workflowId: handle.workflowId }]);
  expect(recorded(s)).toEqual([outcome]);
  expect(callsTo(s, 'sendNotification')).toHaveLength(1);
});

test('a lost sandbox is provisioned again and the container left behind is removed while the fix goes on', async () => {
  const { handle, s } = await startFix('lost', { completeAt: 1, loseSandboxOnce: true });
  const outcome = await handle.result();
  expect(outcome).toMatchObject({ status: 'pr_created' });
  const workflowId = handle.workflowId;
  expect(callsTo(s, 'provisionSandbox')).toHaveLength(2);
  // The old one (on the queue of the host that held it), and the new one at the end.
  await expect
    .poll(() => callsTo(s, 'removeSandbox').map((c) => c.input), { timeout: 10_000, interval: 50 })
    .toEqual(
      expect.arrayContaining([
        { containerId: `container-${workflowId}`, workflowId },
        { containerId: `container-${workflowId}-2`, workflowId },
      ]),
    );
  expect(callsTo(s, 'removeSandbox')).toHaveLength(2);
});

test('a hint reaches the next model call, once', async () => {
  const { handle, s } = await startFix('hint', { completeAt: 3, holdAt: [1] });
  await modelStarted(s, 1);
  await handle.signal(hintSignal, 'the offset is off by one in src/page.ts');
  release(s, 1);

  expect(await handle.result()).toMatchObject({ status: 'pr_created', iterations: 3 });
  const notes = modelCalls(s).map((c) => c.notes);
  expect(notes).toEqual([[], ['Hint from an engineer: the offset is off by one in src/page.ts'], []]);
});

test('a long fix continues as new with its state and finishes in a later run', async () => {
  const { handle, s } = await startFix('continued', { completeAt: 5 }, undefined, { historyLimit: 30 });
  const first = await handle.describe();
  expect(await handle.result()).toMatchObject({ status: 'pr_created', iterations: 5 });
  const last = await handle.describe();
  expect(last.runId).not.toBe(first.runId);
  expect(modelCalls(s).map((c) => c.iteration)).toEqual([1, 2, 3, 4, 5]);
  // The sandbox and the reproduction travel with the state: neither is done again.
  expect(callsTo(s, 'provisionSandbox')).toHaveLength(1);
  expect(callsTo(s, 'runValidation')).toHaveLength(2);
  expect(callsTo(s, 'removeSandbox')).toHaveLength(1);
});

describe('a lost sandbox', () => {
  test('is provisioned again as often as it is lost while the fix makes progress between losses', async () => {
    // Five losses over the fix (more than the 3 recoveries a whole fix used to get), one per iteration.
    const { handle, s } = await startFix('lost-with-progress', { completeAt: 6, loseSandboxAt: { 1: 1, 2: 1, 3: 1, 4: 1, 5: 1 } });
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'pr_created', iterations: 6 });
    expect(callsTo(s, 'provisionSandbox')).toHaveLength(6);
    expect(callsTo(s, 'runTools')).toHaveLength(11);
    // The patch marker, recorded at the first loss, replays (test/histories holds a fix of the code before it).
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH, dataConverter: dataConverter() }, await handle.fetchHistory());
  });

  test('fails the fix with its reason when lost 4 times in a row with no step completed in between', async () => {
    const { handle, s } = await startFix('lost-in-a-row', { completeAt: 3, loseSandboxAt: { 2: 4 } });
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'failed', reason: 'sandbox lost 4 times in a row with no sandbox step completed in between', iterations: 2 });
    // The first sandbox and three more; the fourth loss provisions nothing.
    expect(callsTo(s, 'provisionSandbox')).toHaveLength(4);
    expect(callsTo(s, 'deliverFix')).toHaveLength(0);
    expect(recorded(s)).toEqual([outcome]);
  });

  test('the status says why the fix is provisioning again', async () => {
    const { handle, s } = await startFix('lost-status', { completeAt: 2, loseSandboxAt: { 1: 2 }, holdProvisionAt: 3 });
    await expect.poll(() => s.releaseProvision, { timeout: 10_000, interval: 20 }).toBeDefined();
    const status = await handle.query(statusQuery);
    expect(status).toMatchObject({ phase: 'fixing', phaseDetail: 're-provisioning: sandbox lost (2 in a row)' });
    expect(status.lastActions.at(-1)).toBe('sandbox lost (2 in a row): provisioning again from the last checkpoint');
    s.releaseProvision!();
    expect(await handle.result()).toMatchObject({ status: 'pr_created' });
    expect((await handle.query(statusQuery)).phaseDetail).toBeUndefined();
  });
});
