/**
 * The agent, iteration by iteration: a model turn, then its tools in the sandbox; when the agent
 * says it is done, the project's validation decides (a failed round goes back to the model as
 * feedback). Before each iteration: continue as new when history is long, hold while paused,
 * stop when a budget is spent.
 */
import { CancellationScope, CancelledFailure, workflowInfo } from '@temporalio/workflow';
import { callBudgetLeft, exhaustedBudget } from '../../src/domain/fix/budgets.js';
import { validationFeedback, type CarriedState, type FixInput } from '../../src/domain/fix/fix.js';
import { addUsage, totalTokens } from '../../src/domain/fix/pricing.js';
import { modelActivities } from '../activity-proxies.js';
import { FixStopped } from './errors.js';
import type { RunPatches } from './patches.js';
import type { SandboxWork } from './sandbox-work.js';
import type { FixRun } from './state.js';

const DEFAULT_HISTORY_LIMIT = 2000;

/** What the agent reported with the task_complete that passed validation. */
export interface Completion {
  summary: string;
  filesChanged: string[];
}

/** The loop ends with a validated completion, or with the state to carry into the next run. */
export type LoopEnd = { carried: CarriedState } | { carried?: undefined; completion: Completion };

export async function runAgentLoop(fix: FixRun, input: FixInput, sandbox: SandboxWork, patches: RunPatches): Promise<LoopEnd> {
  const { workflowId } = workflowInfo();
  for (;;) {
    // A kill that landed with the last step's result must not be carried past continue-as-new,
    // where nothing would see it again (the next run skips admission; the controller signalled once).
    const stoppedNow = patches.stopBeforeContinuing ? fix.stopRequested() : null;
    if (stoppedNow) throw stoppedNow;
    // Likewise a Temporal cancel that landed with that result: handled here, it still cleans up
    // and records (past the loop, waiting for handlers would throw it with no cleanup at all).
    if (patches.stopBeforeContinuing && CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled through Temporal');
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= (input.historyLimit ?? DEFAULT_HISTORY_LIMIT)) return { carried: fix.carry() };

    await fix.unlessPaused();
    const exhausted = exhaustedBudget(fix.budgets, fix.spent());
    if (exhausted) throw new FixStopped('failed', exhausted);
    fix.iteration += 1;
    const iteration = fix.iteration;
    fix.enter('fixing');
    // A first call has no earlier turn whose follow-up could hold a hint: it waits for the next.
    const turnNotes = patches.hintsKept && iteration === 1 ? [...fix.notes] : [...fix.notes, ...fix.pendingHints.splice(0)];
    // The call caps its answer by what is left (or is not made): one call cannot overshoot a budget.
    const budgetLeft = callBudgetLeft(fix.budgets, totalTokens(fix.usage), fix.costUnits);
    const turn = await fix.step(() =>
      modelActivities(`iteration ${iteration}: model call`).callModel({ workflowId, bugId: input.bugId, iteration, notes: turnNotes, budgetLeft }),
    );
    if (turn.budgetStop) throw new FixStopped('failed', turn.budgetStop);
    fix.notes = [];
    fix.usage = addUsage(fix.usage, turn.usage);
    fix.costUnits += turn.costUnits;
    if (turn.toolCallCount === 0) continue;

    await fix.unlessPaused();
    const ran = await sandbox.run(`iteration ${iteration}: ${turn.toolNames.join(', ')}`, (acts, containerId) =>
      acts.runTools({ workflowId, iteration, containerId }),
    );
    fix.lastActions.push(...ran.actions);
    fix.timings.commandsMs += ran.commandMs;
    if (!ran.completion) continue;

    fix.enter('validating');
    const passed = (await sandbox.validate()).every((v) => v.passed);
    // Under patch REPRODUCTION_FIRST the service checks the fix's reproduction test; a project that requires one sends a fix without it back.
    const noReproduction = passed && patches.reproductionFirst ? await sandbox.checkReproduction() : null;
    if (passed && !noReproduction) return { completion: ran.completion };
    fix.validationRounds += 1;
    if (fix.validationRounds >= fix.budgets.maxValidationRounds)
      throw new FixStopped('failed', `${noReproduction ? 'no verified reproduction test' : 'validation still failing'} after ${fix.validationRounds} rounds`);
    fix.notes.push(noReproduction ?? validationFeedback(fix.validation));
  }
}
