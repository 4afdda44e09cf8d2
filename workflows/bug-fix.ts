/**
 * One bug fix = one workflow: provision a sandbox, run the agent iteration by iteration (a model
 * turn, then its tools), validate, deliver a pull request, and always clean up.
 * Deterministic code only: side effects live in activities, rules in src/domain.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { SandboxRef } from '../activities/sandbox-activities.js';
import { SANDBOX_GONE } from '../src/domain/sandbox-errors.js';
import { TimeoutType } from '@temporalio/common';
import { DEFAULT_BUDGETS, validationFeedback, type FixBudgets, type FixInput, type FixOutcome, type FixStatus, type Phase, type PullRequestRef, type ValidationGateResult } from '../src/domain/fix.js';
import { fixBranchName } from '../src/domain/ids.js';
import { addUsage, totalTokens, unitsToUsd, ZERO_USAGE, type TokenUsage } from '../src/domain/pricing.js';
import { pullRequestBody, pullRequestTitle } from '../src/domain/pull-request.js';
import { CostUsdKey, IterationKey, PhaseKey } from '../src/domain/search-attributes.js';
import { hintSignal, killSignal, pauseSignal, resumeSignal, statusQuery } from './messages.js';

const NON_RETRYABLE = ['BugNotFound', 'NothingToDeliver', 'UnsafePush', 'PathOutsideWorkspaceError'];

const shortActs = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});
const modelActs = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', maximumAttempts: 6, nonRetryableErrorTypes: NON_RETRYABLE },
});
const provisionActs = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

function hostActivities(queue: string) {
  return proxyActivities<Activities>({
    taskQueue: queue,
    // A host that stopped polling (lost machine) is treated like a lost container.
    scheduleToStartTimeout: '1 minute',
    startToCloseTimeout: '15 minutes',
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
  });
}
type HostActivities = ReturnType<typeof hostActivities>;

const MAX_SANDBOX_RECOVERIES = 3;

/** The container (or its whole host) is gone: provision again from the last checkpoint. */
function isSandboxLost(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  if (err.cause instanceof ApplicationFailure && err.cause.type === SANDBOX_GONE) return true;
  return err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
}

/** "Activity task failed" says nothing: the reason is the innermost cause. */
function rootCauseMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

class FixStopped extends Error {
  constructor(
    readonly status: 'failed' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

export async function bugFixWorkflow(input: FixInput): Promise<FixOutcome> {
  const budgets: FixBudgets = { ...DEFAULT_BUDGETS, ...input.budgets };
  const { workflowId } = workflowInfo();
  const deadline = Date.now() + budgets.maxDurationMs;

  let phase: Phase = 'queued';
  let iteration = 0;
  let usage: TokenUsage = ZERO_USAGE;
  let costUnitsTotal = 0;
  let paused = false;
  let killed: { reason: string; actor?: string } | undefined;
  let validation: ValidationGateResult[] = [];
  let pr: PullRequestRef | undefined;
  let outcome: FixOutcome | undefined;
  const lastActions: string[] = [];
  const timings = { commandsMs: 0, validationMs: 0 };
  const pendingHints: string[] = [];

  const costUsd = () => unitsToUsd(costUnitsTotal);
  const status = (): FixStatus => ({
    bugId: input.bugId,
    phase,
    iteration,
    paused,
    usage,
    costUsd: costUsd(),
    budgets,
    budgetLeft: {
      iterations: budgets.maxIterations - iteration,
      tokens: budgets.maxTokens - totalTokens(usage),
      costUsd: budgets.maxCostUsd - costUsd(),
    },
    validation,
    lastActions: lastActions.slice(-10),
    timings: { ...timings },
    pr,
    outcome,
  });
  const enter = (next: Phase) => {
    phase = next;
    upsertSearchAttributes([
      { key: PhaseKey, value: next },
      { key: IterationKey, value: iteration },
      { key: CostUsdKey, value: costUsd() },
    ]);
  };

  setHandler(statusQuery, status);
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));
  setHandler(killSignal, (k) => void (killed ??= k));
  setHandler(hintSignal, (text) => void pendingHints.push(`Hint from an engineer: ${text}`));

  /** Budget, kill and pause checks between iterations; waits while paused. */
  const admitNextIteration = async () => {
    await condition(() => !paused || killed !== undefined);
    if (killed) throw new FixStopped('cancelled', `killed by ${killed.actor ?? 'an operator'}: ${killed.reason}`);
    if (iteration >= budgets.maxIterations) throw new FixStopped('failed', `iteration budget exhausted (${budgets.maxIterations})`);
    if (totalTokens(usage) >= budgets.maxTokens) throw new FixStopped('failed', `token budget exhausted (${totalTokens(usage)} of ${budgets.maxTokens})`);
    if (costUsd() >= budgets.maxCostUsd) throw new FixStopped('failed', `cost budget exhausted ($${costUsd().toFixed(4)} of $${budgets.maxCostUsd})`);
    if (Date.now() >= deadline) throw new FixStopped('failed', `time budget exhausted (${Math.round(budgets.maxDurationMs / 1000)} s)`);
  };

  let sandbox: SandboxRef | undefined;
  let failure: { status: 'failed' | 'cancelled'; reason: string } | undefined;
  let cancellation: unknown;
  try {
    const ctx = await shortActs.startFix({ bugId: input.bugId });
    enter('provisioning');
    const provisionRequest = { workflowId, bugId: input.bugId, projectKey: input.projectKey, cloneUrl: ctx.cloneUrl, defaultBranch: ctx.defaultBranch };
    sandbox = await provisionActs.provisionSandbox(provisionRequest);
    let host: HostActivities = hostActivities(sandbox.hostQueue);
    let recoveries = 0;
    /** Runs sandbox work; when the sandbox was lost, provisions it again (restored) and retries. */
    const inSandbox = async <T>(work: (acts: HostActivities, containerId: string) => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await work(host, sandbox!.containerId);
        } catch (err) {
          if (!isSandboxLost(err)) throw err;
          if (++recoveries > MAX_SANDBOX_RECOVERIES) throw new FixStopped('failed', `sandbox lost ${recoveries} times`);
          lastActions.push('sandbox lost: provisioning again from the last checkpoint');
          sandbox = await provisionActs.provisionSandbox(provisionRequest);
          host = hostActivities(sandbox.hostQueue);
        }
      }
    };

    const validate = async () => {
      validation = await inSandbox((acts, containerId) => acts.runValidation({ containerId, commands: ctx.validation }));
      timings.validationMs += validation.reduce((sum, v) => sum + v.durationMs, 0);
      return validation;
    };
    enter('reproducing');
    await validate();

    let notes: string[] = [];
    let validationRounds = 0;
    let summary = '';
    let filesChanged: string[] = [];
    for (;;) {
      await admitNextIteration();
      iteration += 1;
      enter('fixing');
      const turn = await modelActs.callModel({ workflowId, bugId: input.bugId, iteration, notes: [...notes, ...pendingHints.splice(0)] });
      notes = [];
      usage = addUsage(usage, turn.usage);
      costUnitsTotal += turn.costUnits;
      if (turn.toolCallCount === 0) continue;
      const ran = await inSandbox((acts, containerId) => acts.runTools({ workflowId, iteration, containerId }));
      lastActions.push(...ran.actions);
      timings.commandsMs += ran.commandMs;
      if (!ran.completion) continue;

      summary = ran.completion.summary;
      filesChanged = ran.completion.filesChanged;
      enter('validating');
      if ((await validate()).every((v) => v.passed)) break;
      validationRounds += 1;
      if (validationRounds >= budgets.maxValidationRounds) {
        throw new FixStopped('failed', `validation still failing after ${validationRounds} rounds`);
      }
      notes.push(validationFeedback(validation));
    }

    enter('delivering');
    const delivery = {
      baseSha: sandbox.baseSha,
      branch: fixBranchName(input.bugId),
      commitMessage: pullRequestTitle(ctx.title),
      repoOwner: ctx.repoOwner,
      repoName: ctx.repoName,
      cloneUrl: ctx.cloneUrl,
      defaultBranch: ctx.defaultBranch,
      prTitle: pullRequestTitle(ctx.title),
      prBody: pullRequestBody({
        bugTitle: ctx.title,
        bugDescription: ctx.description,
        summary,
        filesChanged,
        validation,
        iterations: iteration,
        usage,
        costUsd: costUsd(),
        workflowUrl: input.workflowUrl ?? workflowId,
      }),
    };
    pr = await inSandbox((acts, containerId) => acts.deliverFix({ ...delivery, workflowId, containerId }));
  } catch (err) {
    if (err instanceof FixStopped) failure = { status: err.status, reason: err.message };
    else if (isCancellation(err)) {
      failure = { status: 'cancelled', reason: 'cancelled through Temporal' };
      cancellation = err;
    }
    else failure = { status: 'failed', reason: rootCauseMessage(err) };
  } finally {
    // Cleanup and the record must happen even when the fix was cancelled.
    await CancellationScope.nonCancellable(async () => {
      enter('cleaning-up');
      try {
        if (sandbox) await hostActivities(sandbox.hostQueue).removeSandbox({ containerId: sandbox.containerId, workflowId });
        // Cancelled while provisioning: the container may exist though its id never came back.
        else await shortActs.removeSandboxesOf({ workflowId });
      } catch (err) {
        // A lost host cannot remove its container; the reaper will. The outcome must still be recorded.
        lastActions.push(`sandbox cleanup failed: ${rootCauseMessage(err)}`);
      }
      outcome = {
        status: failure ? failure.status : 'pr_created',
        reason: failure?.reason,
        pr,
        iterations: iteration,
        usage,
        costUsd: costUsd(),
        validation,
        timings: { ...timings },
      };
      await shortActs.recordOutcome({ bugId: input.bugId, outcome });
      enter(failure ? (failure.status === 'cancelled' ? 'cancelled' : 'failed') : 'done');
    });
  }
  // Temporal cancellation ends the run as Cancelled in Temporal too (after cleanup and record).
  if (cancellation) throw cancellation;
  return outcome!;
}
