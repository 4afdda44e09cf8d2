/**
 * One bug fix = one workflow: provision a sandbox, run the agent iteration by iteration (a model
 * turn, then its tools), validate, deliver a pull request, and always clean up and record.
 * Kill, cancel and the wall-clock budget interrupt the step in flight (its activities heartbeat);
 * pause holds the fix between steps; history stays small by continuing as new.
 * Deterministic code only: side effects live in activities, rules in src/domain.
 */
import {
  allHandlersFinished,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { exhaustedBudget, timeBudgetReason, validateBudgetRaise, type Spent } from '../../src/domain/fix/budgets.js';
import { DEFAULT_BUDGETS, validationFeedback, type CarriedState, type FixBudgets, type FixInput, type FixOutcome, type FixStatus, type Phase, type PullRequestRef, type ValidationGateResult } from '../../src/domain/fix/fix.js';
import { fixBranchName } from '../../src/domain/fix/ids.js';
import { addUsage, totalTokens, unitsToUsd, ZERO_USAGE, type TokenUsage } from '../../src/domain/fix/pricing.js';
import { pullRequestBody, pullRequestTitle } from '../../src/domain/fix/pull-request.js';
import { eventOf } from '../../src/domain/fix/notification.js';
import { CostUsdKey, IterationKey, PhaseKey } from '../../src/domain/fix/search-attributes.js';
import { hostActivities, modelActivities, provisionActivities, shortActivities, type HostActivities } from '../activity-proxies.js';
import { FixStopped, isSandboxLost, rootCauseMessage } from './errors.js';
import { hintSignal, killSignal, pauseSignal, raiseBudgetUpdate, resumeSignal, statusQuery } from './messages.js';

const MAX_SANDBOX_RECOVERIES = 3;
const DEFAULT_HISTORY_LIMIT = 2000;

export async function bugFixWorkflow(input: FixInput): Promise<FixOutcome> {
  const { workflowId } = workflowInfo();
  const resumed = input.resume;
  const startedAt = resumed?.startedAt ?? Date.now();

  let budgets: FixBudgets = resumed?.budgets ?? { ...DEFAULT_BUDGETS, ...input.budgets };
  /** what raiseBudget changed: kept over the project's budgets when those arrive after a raise */
  let raised: Partial<FixBudgets> = {};
  let phase: Phase = 'queued';
  let iteration = resumed?.iteration ?? 0;
  let usage: TokenUsage = resumed?.usage ?? ZERO_USAGE;
  let costUnitsTotal = resumed?.costUnits ?? 0;
  let paused = resumed?.paused ?? false;
  let validation: ValidationGateResult[] = resumed?.validation ?? [];
  let validationRounds = resumed?.validationRounds ?? 0;
  let notes: string[] = resumed?.notes ?? [];
  const lastActions: string[] = [...(resumed?.lastActions ?? [])];
  const timings = { ...(resumed?.timings ?? { commandsMs: 0, validationMs: 0 }) };
  const pendingHints: string[] = [];
  let pr: PullRequestRef | undefined;
  let outcome: FixOutcome | undefined;

  /** A stop requested from outside the current step (kill, time budget): cancels that step. */
  let stop: { status: 'failed' | 'cancelled'; reason: string } | undefined;
  let currentStep: CancellationScope | undefined;
  let budgetVersion = 0;
  let finished = false;

  /** Read through a function: TypeScript cannot see that handlers change `stop` between awaits. */
  const stopRequested = (): FixStopped | null => (stop ? new FixStopped(stop.status, stop.reason) : null);
  const costUsd = () => unitsToUsd(costUnitsTotal);
  const spent = (): Spent => ({ iterations: iteration, tokens: totalTokens(usage), costUsd: costUsd(), elapsedMs: Date.now() - startedAt });
  const requestStop = (status: 'failed' | 'cancelled', reason: string) => {
    stop ??= { status, reason };
    currentStep?.cancel();
  };
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
  setHandler(killSignal, (k) => requestStop('cancelled', `killed by ${k.actor ?? 'an operator'}: ${k.reason}`));
  setHandler(hintSignal, (text) => void pendingHints.push(`Hint from an engineer: ${text}`));
  setHandler(
    raiseBudgetUpdate,
    (raise) => {
      budgets = { ...budgets, ...raise };
      raised = { ...raised, ...raise };
      budgetVersion += 1;
      return budgets;
    },
    { validator: (raise) => validateBudgetRaise(budgets, spent(), raise) },
  );

  // The wall-clock budget is a timer, re-armed when the budget is raised.
  const watchdog = (async () => {
    try {
      while (!finished) {
        const version = budgetVersion;
        const left = startedAt + budgets.maxDurationMs - Date.now();
        if (left <= 0) return requestStop('failed', timeBudgetReason(budgets));
        await condition(() => finished || budgetVersion !== version, left);
      }
    } catch (err) {
      if (!isCancellation(err)) throw err; // the whole fix was cancelled: nothing left to watch
    }
  })();

  /** Runs one step so that a kill or the time budget can cancel it while in flight. */
  const step = async <T>(work: () => Promise<T>): Promise<T> => {
    const before = stopRequested();
    if (before) throw before;
    const scope = new CancellationScope();
    currentStep = scope;
    try {
      return await scope.run(work);
    } catch (err) {
      const stopped = stopRequested();
      if (stopped && isCancellation(err)) throw stopped;
      throw err;
    } finally {
      currentStep = undefined;
    }
  };
  /** While paused nothing starts: no model call, no command, no validation, no delivery. */
  const unlessPaused = async () => {
    await condition(() => !paused || stop !== undefined);
    const stopped = stopRequested();
    if (stopped) throw stopped;
  };

  /** Tells the project's channels how the fix ended; a channel that fails cannot undo the fix. */
  let ctxForNotice: { title: string } = { title: input.bugId };
  const findChannels = () => shortActivities('find notification channels').notificationChannels({ projectId: input.projectId });
  const notify = async (o: FixOutcome, ctx: { title: string }, channelsFound: ReturnType<typeof findChannels> = findChannels()) => {
    const notice = {
      event: eventOf(o),
      workflowId,
      bugId: input.bugId,
      projectId: input.projectId,
      projectKey: input.projectKey,
      bugTitle: ctx.title,
      status: o.status,
      reason: o.reason,
      prUrl: o.pr?.url,
      iterations: o.iterations,
      costUsd: o.costUsd,
      workflowUrl: input.workflowUrl,
    };
    try {
      const channels = await channelsFound;
      const results = await Promise.allSettled(channels.map((channel) => shortActivities(`notify ${channel}`).sendNotification({ channel, notice })));
      results.forEach((r, i) => r.status === 'rejected' && lastActions.push(`${channels[i]} notification failed: ${rootCauseMessage(r.reason)}`));
    } catch (err) {
      lastActions.push(`notifications failed: ${rootCauseMessage(err)}`);
    }
  };

  // Behaviour added after runs were recorded (test/histories): on for new runs, off in replays of old ones.
  const pauseHoldsEveryStep = patched('pause-holds-every-step');
  const stopBeforeContinuing = patched('stop-before-continue-as-new');
  const hintsKept = patched('hints-kept');

  let sandbox = resumed?.sandbox;
  let failure: { status: 'failed' | 'cancelled'; reason: string } | undefined;
  let cancellation: unknown;
  let carried: CarriedState | undefined;
  try {
    // New fixes are refused while a kill switch covers their project; continued runs were admitted already.
    if (!resumed && patched('kill-switch-admission')) {
      const admission = await step(() => shortActivities('admission check').admissionCheck({ projectKey: input.projectKey }));
      if (!admission.allowed) throw new FixStopped('cancelled', admission.reason ?? 'refused by a kill switch');
    }
    const ctx = await step(() => shortActivities('load the report').startFix({ bugId: input.bugId }));
    ctxForNotice = ctx;
    // The project's budgets apply over the defaults; what the starter asked for wins over both.
    if (!resumed && patched('project-budgets')) {
      budgets = { ...DEFAULT_BUDGETS, ...ctx.budgets, ...input.budgets, ...raised };
      budgetVersion += 1; // the watchdog re-reads maxDurationMs
    }
    const provisionRequest = { workflowId, bugId: input.bugId, projectKey: input.projectKey, cloneUrl: ctx.cloneUrl, defaultBranch: ctx.defaultBranch };
    if (!sandbox) {
      enter('provisioning');
      sandbox = await step(() => provisionActivities('provision the sandbox').provisionSandbox(provisionRequest));
    }
    let recoveries = 0;
    /** Sandbox work; when the sandbox was lost, provisions it again (restored) and retries. */
    const inSandbox = async <T>(summary: string, work: (acts: HostActivities, containerId: string) => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          const current = sandbox!;
          return await step(() => work(hostActivities(current.hostQueue, summary), current.containerId));
        } catch (err) {
          if (!isSandboxLost(err)) throw err;
          if (++recoveries > MAX_SANDBOX_RECOVERIES) throw new FixStopped('failed', `sandbox lost ${recoveries} times`);
          lastActions.push('sandbox lost: provisioning again from the last checkpoint');
          sandbox = await step(() => provisionActivities('provision the sandbox again').provisionSandbox(provisionRequest));
        }
      }
    };
    const validate = async () => {
      if (pauseHoldsEveryStep) await unlessPaused();
      validation = await inSandbox(`validate (round ${validationRounds + 1})`, (acts, containerId) => acts.runValidation({ containerId, commands: ctx.validation }));
      timings.validationMs += validation.reduce((sum, v) => sum + v.durationMs, 0);
      return validation;
    };

    if (!resumed) {
      enter('reproducing');
      await validate();
    }
    let summary = '';
    let filesChanged: string[] = [];
    for (;;) {
      // A kill that landed with the last step's result must not be carried past continue-as-new,
      // where nothing would see it again (the next run skips admission; the controller signalled once).
      const stoppedNow = stopBeforeContinuing ? stopRequested() : null;
      if (stoppedNow) throw stoppedNow;
      // Likewise a Temporal cancel that landed with that result: handled here, it still cleans up
      // and records (past the loop, waiting for handlers would throw it with no cleanup at all).
      if (stopBeforeContinuing && CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled through Temporal');
      const info = workflowInfo();
      if (info.continueAsNewSuggested || info.historyLength >= (input.historyLimit ?? DEFAULT_HISTORY_LIMIT)) {
        carried = { startedAt, budgets, iteration, usage, costUnits: costUnitsTotal, validationRounds, notes, validation, timings, lastActions: lastActions.slice(-10), sandbox: sandbox!, paused, continuedRuns: (resumed?.continuedRuns ?? 0) + 1 };
        break;
      }
      await unlessPaused();
      const exhausted = exhaustedBudget(budgets, spent());
      if (exhausted) throw new FixStopped('failed', exhausted);
      iteration += 1;
      enter('fixing');
      // A first call has no earlier turn whose follow-up could hold a hint: it waits for the next.
      const turnNotes = hintsKept && iteration === 1 ? [...notes] : [...notes, ...pendingHints.splice(0)];
      const turn = await step(() => modelActivities(`iteration ${iteration}: model call`).callModel({ workflowId, bugId: input.bugId, iteration, notes: turnNotes }));
      notes = [];
      usage = addUsage(usage, turn.usage);
      costUnitsTotal += turn.costUnits;
      if (turn.toolCallCount === 0) continue;

      await unlessPaused();
      const ran = await inSandbox(`iteration ${iteration}: ${turn.toolNames.join(', ')}`, (acts, containerId) => acts.runTools({ workflowId, iteration, containerId }));
      lastActions.push(...ran.actions);
      timings.commandsMs += ran.commandMs;
      if (!ran.completion) continue;

      summary = ran.completion.summary;
      filesChanged = ran.completion.filesChanged;
      enter('validating');
      if ((await validate()).every((v) => v.passed)) break;
      validationRounds += 1;
      if (validationRounds >= budgets.maxValidationRounds) throw new FixStopped('failed', `validation still failing after ${validationRounds} rounds`);
      notes.push(validationFeedback(validation));
    }

    if (!carried) {
      if (pauseHoldsEveryStep) await unlessPaused();
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
        draft: ctx.prDraft,
        labels: ctx.prLabels,
        scopeLimits: ctx.scopeLimits,
        githubIssueNumber: ctx.githubIssueNumber,
        bugId: input.bugId,
        projectId: input.projectId,
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
          githubIssueNumber: ctx.githubIssueNumber,
        }),
      };
      pr = await inSandbox('push the branch and open the pull request', (acts, containerId) => acts.deliverFix({ ...delivery, workflowId, containerId }));
      timings.toPrMs = Date.now() - startedAt;
    }
  } catch (err) {
    if (err instanceof FixStopped) failure = { status: err.status, reason: err.message };
    else if (isCancellation(err)) {
      failure = { status: 'cancelled', reason: 'cancelled through Temporal' };
      cancellation = err;
    } else failure = { status: 'failed', reason: rootCauseMessage(err) };
  } finally {
    if (!carried || failure) {
      // Cleanup and the record must happen even when the fix was cancelled.
      await CancellationScope.nonCancellable(async () => {
        enter('cleaning-up');
        const removal = (async () => {
          try {
            if (sandbox) await hostActivities(sandbox.hostQueue, 'remove the sandbox').removeSandbox({ containerId: sandbox.containerId, workflowId });
            // Cancelled while provisioning: the container may exist though its id never came back.
            else await shortActivities('remove the sandbox').removeSandboxesOf({ workflowId });
          } catch (err) {
            // A lost host cannot remove its container; the reaper will. The outcome must still be recorded.
            lastActions.push(`sandbox cleanup failed: ${rootCauseMessage(err)}`);
          }
        })();
        const recordAndNotify = async (channelsFound?: ReturnType<typeof findChannels>) => {
          outcome = { status: failure ? failure.status : 'pr_created', reason: failure?.reason, pr, iterations: iteration, usage, costUsd: costUsd(), validation, timings: { ...timings } };
          await shortActivities('record the outcome').recordOutcome({ bugId: input.bugId, outcome });
          await notify(outcome, ctxForNotice, channelsFound);
        };
        // The outcome does not depend on the removal, nor the channels on the record: one round
        // trip for all three (a kill switch over 50 fixes waited ~0.7 s per extra workflow task).
        if (patched('record-while-removing')) {
          const channelsFound = findChannels();
          channelsFound.catch(() => undefined); // read by notify, which reports a failure
          await Promise.all([removal, recordAndNotify(channelsFound)]);
        } else {
          await removal;
          await recordAndNotify();
        }
        enter(failure ? (failure.status === 'cancelled' ? 'cancelled' : 'failed') : 'done');
      });
    }
  }
  finished = true;
  await watchdog;
  if (carried && !failure) {
    await condition(allHandlersFinished);
    const resume = hintsKept ? { ...carried, notes: [...carried.notes, ...pendingHints] } : carried;
    return continueAsNew<typeof bugFixWorkflow>({ ...input, resume });
  }
  // Temporal cancellation ends the run as Cancelled in Temporal too (after cleanup and record).
  if (cancellation) throw cancellation;
  return outcome!;
}
