/**
 * A fix is named by its bug id (the report's UUID) or by its workflow id; both the admin API and
 * the CLI accept either. Only whitelisted characters reach Temporal.
 */
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { PrismaClient } from '../db/prisma.js';
import { FixError } from './fix-errors.js';

/** A bug id as PostgreSQL's uuid type reads it; anything else makes Prisma throw (P2023). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const WORKFLOW_ID = /^[A-Za-z0-9._-]{1,200}$/;

export interface ResolvedFix {
  workflowId: string;
  handle: WorkflowHandle;
  description: WorkflowExecutionDescription;
}

export async function resolveWorkflowId(prisma: PrismaClient, ref: string): Promise<string> {
  if (UUID.test(ref)) {
    const bug = await prisma.bugReport.findUnique({ where: { id: ref.toLowerCase() }, select: { workflowId: true } });
    if (!bug) throw new FixError('not-found', `no bug with id ${ref}`);
    return bug.workflowId;
  }
  if (!WORKFLOW_ID.test(ref)) throw new FixError('not-found', `not a bug id or workflow id: ${JSON.stringify(ref.slice(0, 80))}`);
  return ref;
}

/** Resolves and describes: a fix that Temporal does not know is "not found" here. */
export async function resolveFix(deps: { prisma: PrismaClient; temporal: Client }, ref: string): Promise<ResolvedFix> {
  const workflowId = await resolveWorkflowId(deps.prisma, ref);
  const handle = deps.temporal.workflow.getHandle(workflowId);
  let description: WorkflowExecutionDescription;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new FixError('not-found', `no fix with workflow id ${workflowId}`);
    throw err;
  }
  // A triage run, the safety controller or the reaper has no fix handlers: a signal would only be buffered.
  if (description.type !== 'bugFixWorkflow') throw new FixError('not-found', `${workflowId} is a ${description.type}, not a fix`);
  return { workflowId, handle, description };
}

/**
 * Waits until the fix's workflow exists: the HTTP intake answers 202 once the report is stored and
 * its outbox starts the workflow a moment later (or, with Temporal down, once it is back).
 */
export async function waitForFixStart(temporal: Client, workflowId: string, timeoutMs = 30_000): Promise<WorkflowHandle> {
  const handle = temporal.workflow.getHandle(workflowId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await handle.describe();
      return handle;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) || Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
