/**
 * Every behaviour of the fix workflow added after runs of it were recorded (test/histories, and any
 * fix in flight at a deploy): patched(id) is true in new runs and false when replaying a run that
 * started before the change, so old histories keep taking the old path. Each id is part of
 * recorded histories: never rename one, and keep each patched() call at its place and under its
 * condition. All were added on 2026-11-23, after test/histories were recorded.
 */
import { patched } from '@temporalio/workflow';

/**
 * New fixes ask the safety controller whether a kill switch covers their project before anything
 * else, and stop as cancelled when one does. Checked only in a first run (continued runs were
 * admitted already). Added with kill-switch admission (a3be4cc).
 */
export const KILL_SWITCH_ADMISSION = 'kill-switch-admission';

/**
 * The project's budgets (Project.budgets, loaded with the report) apply over the defaults; what
 * the starter asked for and what raiseBudget set win over them. Before: the defaults and the
 * starter's budgets only. Checked only in a first run. Added in 9cb6cef.
 */
export const PROJECT_BUDGETS = 'project-budgets';

/**
 * Pause also holds validation (reproduction and each round) and delivery, not only model calls
 * and tools. Added in 9cb6cef.
 */
export const PAUSE_HOLDS_EVERY_STEP = 'pause-holds-every-step';

/**
 * A kill or a Temporal cancel that lands together with a step's result is acted on before the
 * fix continues as new, instead of being lost with this run's memory. Added in 9cb6cef.
 */
export const STOP_BEFORE_CONTINUE_AS_NEW = 'stop-before-continue-as-new';

/**
 * Hints reach the model: one sent before the first model call waits for the second (notes ride
 * on the follow-up of an earlier turn, which a first call does not have), and those not yet
 * delivered at continue-as-new travel to the next run with the notes. Before: the first call took
 * them and they were never sent, and continue-as-new dropped them. Added in 9cb6cef.
 */
export const HINTS_KEPT = 'hints-kept';

/**
 * Closing a fix records its outcome and finds its notification channels while its sandbox is
 * being removed (one round trip for all three) instead of after. Added on the kill path's
 * review (fd2f396).
 */
export const RECORD_WHILE_REMOVING = 'record-while-removing';

/**
 * Reproduction first: after the reproduction phase's validation, the fix's briefing is read in the
 * sandbox (that output and the repository's instructions for agents, for the first message); after
 * a validation that passes, unless the project's policy is `off`, the service checks that the
 * fix's test files fail on the base commit's code (a `required` policy sends a fix without such a
 * test back to the agent). Added with issue #18.
 */
export const REPRODUCTION_FIRST = 'reproduction-first';

/**
 * Follow-up rounds (FixInput.followUp): the sandbox clones the PR branch, the reproduction check
 * is off (the PR's tests exist already), delivery adds a commit to the same branch and opens no
 * PR, and the bug's own record is left as the first fix wrote it. Only runs with `followUp` call
 * it, and no history recorded before it has one. Added with issue #15 item 4.
 */
export const FOLLOW_UP_ROUNDS = 'follow-up-rounds';

/**
/**
 * A lost sandbox fails the fix after MAX_SANDBOX_LOSSES_IN_A_ROW losses with no sandbox step
 * completed in between (src/domain/fix/sandbox-losses.ts), not after 3 recoveries over the whole
 * fix; the status query says why the fix is provisioning again. Read at a run's first loss (and
 * kept for the run), so runs without a loss hold no marker. Added with issue #17.
 */
export const SANDBOX_LOSSES_IN_A_ROW = 'sandbox-losses-in-a-row';

/**
 * When a lost sandbox is provisioned again (maybe on another host), the old container is removed
 * on the queue of the host that held it, without waiting (best effort: that host may be gone).
 * Before: it stayed until that host's reaper found its workflow closed. Added with issue #17.
 */
export const REMOVE_MOVED_SANDBOX = 'remove-moved-sandbox';

/** The patches that hold for a whole run, read once at its start (in this order: histories hold their markers). */
export interface RunPatches {
  pauseHoldsEveryStep: boolean;
  stopBeforeContinuing: boolean;
  hintsKept: boolean;
  reproductionFirst: boolean;
}

export function runPatches(): RunPatches {
  const pauseHoldsEveryStep = patched(PAUSE_HOLDS_EVERY_STEP);
  const stopBeforeContinuing = patched(STOP_BEFORE_CONTINUE_AS_NEW);
  const hintsKept = patched(HINTS_KEPT);
  const reproductionFirst = patched(REPRODUCTION_FIRST);
  return { pauseHoldsEveryStep, stopBeforeContinuing, hintsKept, reproductionFirst };
}
