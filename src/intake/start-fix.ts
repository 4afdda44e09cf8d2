/** Starts the fix workflow of a stored bug report; idempotent (fixed id, USE_EXISTING). */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import type { FixInput } from '../domain/fix/fix.js';
import { PRIORITY_KEYS } from '../domain/fix/priority.js';
import { BugIdKey, PhaseKey, ProjectKeyKey } from '../domain/fix/search-attributes.js';
import type { BugPriority } from '../db/prisma.js';
import { workflowUiUrl } from '../temporal/connect.js';
import type { bugFixWorkflow } from '../../workflows/bug-fix/workflow.js';

export interface StartableBug {
  bugId: string;
  workflowId: string;
  priority: BugPriority;
  title: string;
  projectId: string;
  projectKey: string;
}

export function fixUiUrl(deps: { temporal: Client; temporalUiUrl: string }, workflowId: string): string {
  return workflowUiUrl(deps.temporalUiUrl, deps.temporal.options.namespace, workflowId);
}

export async function startFixWorkflow(deps: { temporal: Client; temporalUiUrl: string }, bug: StartableBug): Promise<void> {
  const input: FixInput = { bugId: bug.bugId, projectId: bug.projectId, projectKey: bug.projectKey, workflowUrl: fixUiUrl(deps, bug.workflowId) };
  try {
    await deps.temporal.workflow.start<typeof bugFixWorkflow>('bugFixWorkflow', {
      taskQueue: taskQueues.main,
      workflowId: bug.workflowId,
      args: [input],
      // A start repeated after a lost answer (or by a second dispatcher) joins the running fix.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // CRITICAL reports are dispatched before lower ones when workers are busy.
      priority: { priorityKey: PRIORITY_KEYS[bug.priority] },
      // What ops see in the Web UI's list instead of a bare workflow id.
      staticSummary: `${bug.priority}: ${bug.title}`.slice(0, 200),
      typedSearchAttributes: [
        { key: BugIdKey, value: bug.bugId },
        { key: ProjectKeyKey, value: bug.projectKey },
        { key: PhaseKey, value: 'queued' },
      ],
    });
  } catch (err) {
    // Closed already (REJECT_DUPLICATE): the fix ran; starting it was done long ago.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
