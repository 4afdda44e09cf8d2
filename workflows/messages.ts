/** Signals and queries of a fix: imported by the workflow, the API, the CLI and the tests. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { FixStatus } from '../src/domain/fix.js';

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const killSignal = defineSignal<[{ reason: string; actor?: string }]>('kill');
/** Text delivered to the model at its next iteration. */
export const hintSignal = defineSignal<[string]>('hint');
export const statusQuery = defineQuery<FixStatus>('status');
