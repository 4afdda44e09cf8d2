/**
 * When a lost sandbox is provisioned again and when the fix gives up. Counted are losses WITHOUT
 * progress: progress is a sandbox step (the agent's tools of an iteration, a validation, the
 * briefing, the reproduction check, delivery) that completed since the last loss. A completed
 * step is the unit the checkpoint restores to, so after one the next loss no longer repeats the
 * same lost work; a step that is lost again and again (work that kills its own container, a host
 * that dies under every attempt) fails the fix with that reason. A model call alone is not
 * progress: it never touches the sandbox, and a loss is always retried before the next one.
 *
 * Losses with progress between them are bounded by the fix's own budgets, not by a count: each
 * iteration has a bounded number of sandbox steps, iterations are bounded by the iteration, token
 * and cost budgets, and the wall-clock budget cancels a re-provisioning in flight like any step.
 */

/** Sandbox losses in a row that are still provisioned again; one more fails the fix. */
export const MAX_SANDBOX_LOSSES_IN_A_ROW = 3;

/** Why the fix is provisioning again (the status query's phase detail). */
export function reprovisioningDetail(lossesInARow: number): string {
  return `re-provisioning: sandbox lost (${lossesInARow} in a row)`;
}

/** The reason the fix fails after this many losses in a row, or null when it provisions again. */
export function sandboxLossStop(lossesInARow: number): string | null {
  if (lossesInARow <= MAX_SANDBOX_LOSSES_IN_A_ROW) return null;
  return `sandbox lost ${lossesInARow} times in a row with no sandbox step completed in between`;
}
