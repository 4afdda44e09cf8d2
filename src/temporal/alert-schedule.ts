/**
 * The Schedule that evaluates budgets and alert rules (alertEvaluatorWorkflow), one per
 * deployment (shared task queue). Created or updated in place like the reaper's, so every worker
 * start may call it; a second call just refreshes the interval.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export function alertScheduleId(taskQueue: string): string {
  return `bugfix-alerts-${taskQueue}`;
}

export async function ensureAlertSchedule(client: Client, o: { taskQueue: string; everySeconds?: number }): Promise<string> {
  const scheduleId = alertScheduleId(o.taskQueue);
  const spec = { intervals: [{ every: `${o.everySeconds ?? 60} seconds` }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'alertEvaluatorWorkflow',
    workflowId: `${o.taskQueue}:alert-evaluator`,
    taskQueue: o.taskQueue,
    args: [],
    workflowExecutionTimeout: '5 minutes',
  };
  // SKIP: a slow evaluation is not stacked up behind by the next tick.
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, overlap: ScheduleOverlapPolicy.SKIP } }));
  }
  return scheduleId;
}
