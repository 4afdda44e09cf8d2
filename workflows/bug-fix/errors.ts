/** How the fix workflow reads failures: stops it decided on, lost sandboxes, root causes. */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import { SANDBOX_GONE } from '../../src/domain/fix/sandbox-errors.js';

/** A stop the workflow itself decided on (budget, kill, validation rounds), with its reason. */
export class FixStopped extends Error {
  constructor(
    readonly status: 'failed' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

/** The container (or its whole host) is gone: provision again from the last checkpoint. */
export function isSandboxLost(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  if (err.cause instanceof ApplicationFailure && err.cause.type === SANDBOX_GONE) return true;
  return err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
}

/** "Activity task failed" says nothing: the reason is the innermost cause. */
export function rootCauseMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
