/**
 * The Schedule that runs the sandbox reaper for one worker host. Created or updated in place, so
 * every start of a worker can call it: the id is per host, a second call just refreshes it.
 */
import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { upsertIntervalSchedule } from './upsert-schedule.js';

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
  return upsertIntervalSchedule(client, reaperScheduleId(o.hostId), o.every ?? '5 minutes', {
    type: 'startWorkflow',
    workflowType: 'sandboxReaperWorkflow',
    workflowId: `bugfix-sandbox-reaper-run-${o.hostId}`,
    taskQueue: o.taskQueue,
    args: [{ hostQueue: o.hostQueue, minAgeMs: o.minAgeMs }],
    workflowExecutionTimeout: '15 minutes',
  });
}
