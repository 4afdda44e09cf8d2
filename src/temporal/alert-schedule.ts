/**
 * The Schedule that evaluates budgets and alert rules (alertEvaluatorWorkflow), one per
 * deployment (shared task queue). Created or updated in place like the reaper's, so every worker
 * start may call it; a second call just refreshes the interval.
 */
import type { Client } from '@temporalio/client';
import { upsertIntervalSchedule } from './upsert-schedule.js';

export function alertScheduleId(taskQueue: string): string {
  return `bugfix-alerts-${taskQueue}`;
}

export async function ensureAlertSchedule(client: Client, o: { taskQueue: string; everySeconds?: number }): Promise<string> {
  return upsertIntervalSchedule(client, alertScheduleId(o.taskQueue), `${o.everySeconds ?? 60} seconds`, {
    type: 'startWorkflow',
    workflowType: 'alertEvaluatorWorkflow',
    workflowId: `${o.taskQueue}:alert-evaluator`,
    taskQueue: o.taskQueue,
    args: [],
    workflowExecutionTimeout: '5 minutes',
  });
}
