/**
 * Activities Temporal is retrying right now, with the error of their last attempt: the workflow
 * itself cannot see attempts, so "delivering" alone would hide that GitHub keeps answering 502.
 * Read from describe() (pendingActivities[].lastFailure), decoded like every failure (they are
 * encrypted payloads, see src/temporal/failure-converter.ts).
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow/index.js';

export interface RetryingActivity {
  activity: string;
  attempt: number;
  lastError: string;
}

/** "Activity task failed" says nothing: the innermost cause does. */
function innermost(err: Error): string {
  let e = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}

export async function retryingActivities(temporal: Client, description: WorkflowExecutionDescription): Promise<RetryingActivity[]> {
  const out: RetryingActivity[] = [];
  for (const p of description.raw.pendingActivities ?? []) {
    if (!p.lastFailure) continue;
    const err = await decodeOptionalFailureToOptionalError(temporal.options.loadedDataConverter, p.lastFailure).catch(() => undefined);
    out.push({
      activity: p.activityType?.name ?? 'activity',
      attempt: p.attempt ?? 0,
      lastError: (err ? innermost(err) : (p.lastFailure.message ?? 'unknown error')).slice(0, 1000),
    });
  }
  return out;
}
