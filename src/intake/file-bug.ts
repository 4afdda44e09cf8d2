/**
 * Files a bug report: stores it once and starts its fix workflow once. A retry with the same
 * external id (or Idempotency-Key) returns the same bug and workflow.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { taskQueues } from '../../temporal.config.js';
import { fixWorkflowId } from '../domain/ids.js';
import { BugIdKey, PhaseKey, ProjectKeyKey } from '../domain/search-attributes.js';
import type { FixInput } from '../domain/fix.js';
import { PRIORITY_KEYS } from '../domain/priority.js';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import { workflowUiUrl } from '../temporal/connect.js';
import type { bugFixWorkflow } from '../../workflows/bug-fix.js';

export const bugReportSchema = z.object({
  title: z.string().trim().min(3).max(300),
  description: z.string().trim().min(1).max(50_000),
  reproductionSteps: z.string().max(50_000).optional(),
  errorLogs: z.string().max(200_000).optional(),
  priority: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']).default('MEDIUM'),
  reporter: z.string().max(300).optional(),
  source: z.string().max(50).default('api'),
  externalId: z.string().trim().min(1).max(200).optional(),
});
export type BugReportInput = z.infer<typeof bugReportSchema>;

export class ProjectGoneError extends Error {
  override name = 'ProjectGoneError';
  constructor(readonly projectKey: string) {
    super(`project ${projectKey} no longer exists`);
  }
}

export interface FiledBug {
  bugId: string;
  workflowId: string;
  created: boolean;
  temporalUiUrl: string;
}

export interface IntakeDeps {
  prisma: PrismaClient;
  temporal: Client;
  temporalUiUrl: string;
}

export async function fileBug(
  deps: IntakeDeps,
  project: { id: string; key: string },
  report: BugReportInput,
  idempotencyKey?: string,
): Promise<FiledBug> {
  const externalId = report.externalId ?? idempotencyKey ?? randomUUID();
  const workflowId = fixWorkflowId(project.key, externalId);
  // New reports are the common case: insert first (one query); a duplicate is a unique violation.
  let created = true;
  let bug;
  try {
    bug = await deps.prisma.bugReport.create({
      data: {
        projectId: project.id,
        externalId,
        workflowId,
        title: report.title,
        description: report.description,
        reproductionSteps: report.reproductionSteps,
        errorLogs: report.errorLogs,
        priority: report.priority,
        reporter: report.reporter,
        source: report.source,
      },
    });
  } catch (err) {
    // The project was deleted between authentication and this insert.
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2003') throw new ProjectGoneError(project.key);
    // A retry (or a concurrent twin) of a report already filed: answer with that one.
    if (!(err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')) throw err;
    bug = await deps.prisma.bugReport.findUniqueOrThrow({ where: { projectId_externalId: { projectId: project.id, externalId } } });
    created = false;
  }
  const temporalUiUrl = workflowUiUrl(deps.temporalUiUrl, deps.temporal.options.namespace, bug.workflowId);
  const input: FixInput = { bugId: bug.id, projectId: project.id, projectKey: project.key, workflowUrl: temporalUiUrl };
  try {
    // Always (re)start: if the row was stored but the start was lost, this completes the intake.
    await deps.temporal.workflow.start<typeof bugFixWorkflow>('bugFixWorkflow', {
      taskQueue: taskQueues.main,
      workflowId: bug.workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // CRITICAL reports are dispatched before lower ones when workers are busy.
      priority: { priorityKey: PRIORITY_KEYS[bug.priority] },
      // What ops see in the Web UI's list instead of a bare workflow id.
      staticSummary: `${bug.priority}: ${bug.title}`.slice(0, 200),
      typedSearchAttributes: [
        { key: BugIdKey, value: bug.id },
        { key: ProjectKeyKey, value: project.key },
        { key: PhaseKey, value: 'queued' },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return { bugId: bug.id, workflowId: bug.workflowId, created, temporalUiUrl };
}
