/**
 * Hands an alert to Temporal for delivery: one alertDispatchWorkflow per alert, action and round,
 * so the spend check, the scheduled evaluator and the admin API can all ask for the same delivery
 * and it runs once (USE_EXISTING while it runs; the sends are idempotent if it runs again).
 */
import type { Client } from '@temporalio/client';
import type { alertDispatchWorkflow, AlertDispatchInput } from '../../workflows/alert-evaluator.js';

export type { AlertDispatchInput };

export function alertDispatchId(taskQueue: string, d: AlertDispatchInput): string {
  return `${taskQueue}:alert:${d.alertId}:${d.action === 'resolve' ? 'resolve' : `trigger-${d.round}`}`;
}

export async function dispatchAlert(temporal: Client, taskQueue: string, d: AlertDispatchInput): Promise<void> {
  await temporal.workflow.start<typeof alertDispatchWorkflow>('alertDispatchWorkflow', {
    taskQueue,
    workflowId: alertDispatchId(taskQueue, d),
    args: [d],
    workflowIdConflictPolicy: 'USE_EXISTING',
    // Undelivered alerts are dispatched again by the next evaluation; a stuck run must end.
    workflowExecutionTimeout: '1 hour',
    staticSummary: `${d.action} alert ${d.alertId}${d.crossingId ? ' (budget kill switch)' : ''}`,
  });
}
