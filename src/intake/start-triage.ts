/** Starts the triage workflow of one stored inbound message (idempotent per message). */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import type { TriageInput } from '../domain/organisation/triage-verdict.js';
import type { triageWorkflow } from '../../workflows/triage-message.js';

export async function startTriage(temporal: Client, workflowId: string, input: TriageInput): Promise<void> {
  await temporal.workflow
    .start<typeof triageWorkflow>('triageWorkflow', {
      taskQueue: taskQueues.main,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A run that failed (a model outage outlasting its retries) may run again: a redelivery or
      // an operator's retry starts it. One that finished is never triaged twice.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    })
    .catch((err: unknown) => {
      // Already triaged and closed: the same message again changes nothing.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    });
}
