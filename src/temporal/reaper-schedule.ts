/**
 * The Schedule that runs the sandbox reaper for one worker host. Created or updated in place, so
 * every start of a worker can call it: the id is per host, a second call just refreshes it.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';

export interface ReaperScheduleOptions {
  hostId: string;
  hostQueue: string;
  /** the shared queue, where the reaper workflow itself runs */
  taskQueue: string;
  every?: Duration;
  minAgeMs?: number;
}

export function reaperScheduleId(hostId: string): string {
  return `bugfix-sandbox-reaper-${hostId}`;
}

export async function ensureReaperSchedule(client: Client, o: ReaperScheduleOptions): Promise<string> {
  const scheduleId = reaperScheduleId(o.hostId);
  const spec = { intervals: [{ every: o.every ?? '5 minutes' }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'sandboxReaperWorkflow',
    workflowId: `bugfix-sandbox-reaper-run-${o.hostId}`,
    taskQueue: o.taskQueue,
    args: [{ hostQueue: o.hostQueue, minAgeMs: o.minAgeMs }],
    workflowExecutionTimeout: '15 minutes',
  };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, overlap: ScheduleOverlapPolicy.SKIP } }));
  }
  return scheduleId;
}
