/**
 * One bug fix = one workflow: provision a sandbox, run the agent iteration by iteration (a model
 * turn, then its tools), validate, deliver a pull request, and always clean up and record.
 * Kill, cancel and the wall-clock budget interrupt the step in flight (its activities heartbeat);
 * pause holds the fix between steps; history stays small by continuing as new.
 * Deterministic code only: side effects live in activities, rules in src/domain.
 *
 * The order of what this function does is part of recorded histories (test/histories and fixes
 * in flight): activities, timers, search attributes and patch markers must stay in this order.
 */
import { allHandlersFinished, condition, continueAsNew, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import type { CarriedState, FixInput, FixOutcome } from '../../src/domain/fix/fix.js';
import { parseReproductionPolicy } from '../../src/domain/fix/reproduction.js';
import { shortActivities } from '../activity-proxies.js';
import { runAgentLoop } from './agent-loop.js';
import { closeFix } from './cleanup.js';
import { deliver } from './delivery.js';
import { FixStopped, rootCauseMessage } from './errors.js';
import { FOLLOW_UP_ROUNDS, KILL_SWITCH_ADMISSION, PROJECT_BUDGETS, runPatches } from './patches.js';
import { SandboxWork } from './sandbox-work.js';
import { FixRun, type StopRequest } from './state.js';

export async function bugFixWorkflow(input: FixInput): Promise<FixOutcome> {
  const { workflowId } = workflowInfo();
  /** set when this run continues an earlier one: admission, budgets, sandbox and reproduction are done */
  const resumed = input.resume;
  const fix = new FixRun(input);
  fix.registerHandlers();
  const watchdog = fix.watchTimeBudget();
  const patches = runPatches();
  // Under patch FOLLOW_UP_ROUNDS: a round on the fix's pull request (never set in older histories).
  const followUp = input.followUp && patched(FOLLOW_UP_ROUNDS) ? input.followUp : undefined;

  let bugTitle = input.bugId; // until the report is loaded
  let failure: StopRequest | undefined;
  let cancellation: unknown;
  let carried: CarriedState | undefined;
  try {
    // New fixes are refused while a kill switch covers their project; continued runs were admitted already.
    if (!resumed && patched(KILL_SWITCH_ADMISSION)) {
      const admission = await fix.step(() => shortActivities('admission check').admissionCheck({ projectKey: input.projectKey }));
      if (!admission.allowed) throw new FixStopped('cancelled', admission.reason ?? 'refused by a kill switch');
    }

    const report = await fix.step(() => shortActivities('load the report').startFix({ bugId: input.bugId, ...(followUp ? { followUp: true } : {}) }));
    bugTitle = report.title;
    // The project's budgets apply over the defaults; what the starter asked for wins over both.
    if (!resumed && patched(PROJECT_BUDGETS)) fix.applyProjectBudgets(report.budgets, input.budgets);

    // A round clones the PR branch: its head (a person's push included) is where the round starts,
    // in the fork when the fix was delivered to one.
    const cloneBranch = followUp ? followUp.branch : report.defaultBranch;
    const cloneUrl = followUp?.cloneUrl ?? report.cloneUrl;
    const provisionRequest = { workflowId, bugId: input.bugId, projectKey: input.projectKey, cloneUrl, defaultBranch: cloneBranch };
    const sandbox = new SandboxWork(fix, provisionRequest, report.validation, patches.pauseHoldsEveryStep);
    if (!fix.sandbox) await sandbox.provision();
    // A person pushed between planning the round and cloning: the round works on their head.
    if (followUp && !resumed && fix.sandbox!.baseSha !== followUp.headSha)
      fix.lastActions.push(`${followUp.branch} moved since the round was planned: starting from its head ${fix.sandbox!.baseSha.slice(0, 12)}`);

    // Reproduction: the project's validation once, before the agent changes anything.
    // Under patch REPRODUCTION_FIRST its output and the repository's instructions brief the agent.
    fix.reproductionPolicy = followUp ? 'off' : parseReproductionPolicy(report.reproduction);
    if (!resumed) {
      fix.enter('reproducing');
      await sandbox.validate();
      if (patches.reproductionFirst) await sandbox.brief();
    }

    const end = await runAgentLoop(fix, input, sandbox, patches);
    if (end.carried) carried = end.carried;
    else await deliver(fix, sandbox, { input, report, completion: end.completion, pauseHolds: patches.pauseHoldsEveryStep, followUp });
  } catch (err) {
    if (err instanceof FixStopped) failure = { status: err.status, reason: err.message };
    else if (isCancellation(err)) {
      failure = { status: 'cancelled', reason: 'cancelled through Temporal' };
      cancellation = err;
    } else failure = { status: 'failed', reason: rootCauseMessage(err) };
  } finally {
    if (!carried || failure) await closeFix(fix, input, failure, bugTitle, !!followUp);
  }

  fix.finish();
  await watchdog;
  if (carried && !failure) {
    await condition(allHandlersFinished);
    // Under patch HINTS_KEPT, hints not yet given to a model call go to the next run with the notes.
    const resume = patches.hintsKept ? { ...carried, notes: [...carried.notes, ...fix.pendingHints] } : carried;
    return continueAsNew<typeof bugFixWorkflow>({ ...input, resume });
  }
  // Temporal cancellation ends the run as Cancelled in Temporal too (after cleanup and record).
  if (cancellation) throw cancellation;
  return fix.outcome!;
}
