/** Signals and queries of a fix: imported by the workflow, the API, the CLI and the tests. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FixBudgets, FixStatus } from '../../src/domain/fix/fix.js';

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const killSignal = defineSignal<[{ reason: string; actor?: string }]>('kill');
/** Text delivered to the model at its next iteration. */
export const hintSignal = defineSignal<[string]>('hint');
export const statusQuery = defineQuery<FixStatus>('status');
/**
 * Raises budgets of a running fix and answers with the budgets now in force. The validator refuses
 * negative numbers and any value below what the fix has already spent.
 */
export const raiseBudgetUpdate = defineUpdate<FixBudgets, [Partial<FixBudgets>]>('raiseBudget');
