/** Starts the triage workflow of one inbound message (idempotent per message). */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import { stableHash } from '../domain/fix/ids.js';
import { triageWorkflowId, type TriageInput } from '../domain/organisation/triage-verdict.js';
import type { triageWorkflow } from '../../workflows/triage-message.js';
import type { InboundMessage } from './inbound-message.js';

export async function startTriage(
  temporal: Client,
  project: { id: string; key: string },
  m: InboundMessage,
): Promise<{ triageWorkflowId: string; externalId: string }> {
  // A provider's message id identifies a redelivery; without one, identical content does.
  const externalId = `${m.source}-${stableHash(m.messageId ?? `${m.from}\n${m.subject}\n${m.text}`)}`;
  const input: TriageInput = { projectId: project.id, projectKey: project.key, source: m.source, from: m.from, subject: m.subject, text: m.text, externalId };
  const workflowId = triageWorkflowId(project.key, externalId);
  await temporal.workflow
    .start<typeof triageWorkflow>('triageWorkflow', {
      taskQueue: taskQueues.main,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    })
    .catch((err: unknown) => {
      // Already triaged and closed: the same message again changes nothing.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    });
  return { triageWorkflowId: workflowId, externalId };
}
