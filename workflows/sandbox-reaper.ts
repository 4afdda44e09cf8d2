/**
 * Started by a Temporal Schedule (one per worker host, see src/temporal/reaper-schedule.ts):
 * removes the host's sandboxes whose workflow is closed or unknown. The activity runs on the
 * host's own queue; a host that is down simply lets this run time out until it is back.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

export interface ReaperInput {
  hostQueue: string;
  minAgeMs?: number;
}

export async function sandboxReaperWorkflow(input: ReaperInput): Promise<{ checked: number; removed: number }> {
  const acts = proxyActivities<Activities>({
    taskQueue: input.hostQueue,
    scheduleToStartTimeout: '5 minutes',
    startToCloseTimeout: '5 minutes',
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['ReaperMisconfigured'] },
  });
  const r = await acts.reapSandboxes({ minAgeMs: input.minAgeMs });
  return { checked: r.checked, removed: r.removed.length };
}
