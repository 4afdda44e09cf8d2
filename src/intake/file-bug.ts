/**
 * Files a bug report: stores it once and starts its fix workflow once (directly, or through the
 * outbox dispatcher). A retry with the same external id (or Idempotency-Key) returns the same bug
 * and workflow.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { taskQueues } from '../../temporal.config.js';
import { fixWorkflowId } from '../domain/fix/ids.js';
import { Prisma, type BugPriority, type PrismaClient } from '../db/prisma.js';
import type { FixDispatcher } from './fix-dispatcher.js';
import { hotQuery, hotStatement, sqlState } from '../db/sql.js';
import { CLAIM_MS } from './outbox-claim.js';
import { fixUiUrl, startFixWorkflow, type StartableBug } from './start-fix.js';

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

/** Another report of the project already has this workflow id (a hashed external id collided). */
export class WorkflowIdTakenError extends Error {
  override name = 'WorkflowIdTakenError';
  constructor(readonly workflowId: string) {
    super(`another report already uses workflow id ${workflowId}; file this one with a different external id`);
  }
}

/**
 * The report's row, claimed for this process's dispatcher ($14) for CLAIM_MS ($15) in the same
 * statement: a prepared statement, since every report runs it (src/db/sql.ts; Prisma's create()
 * cost five times the CPU of a raw insert, bench/intake.ts).
 */
const INSERT_REPORT = hotStatement(
  'bug_report_insert',
  `INSERT INTO "BugReport" ("id", "projectId", "externalId", "workflowId", "title", "description", "reproductionSteps",
                            "errorLogs", "priority", "reporter", "source", "githubIssueNumber", "taskQueue", "claimedUntil", "updatedAt")
   VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9::"BugPriority", $10, $11, $12::int, $13,
           CASE WHEN $14::boolean THEN now() + $15::int * interval '1 millisecond' END, now())
   ON CONFLICT ("projectId", "externalId") DO NOTHING
   RETURNING "id", "workflowId", "priority", "title", "workflowStartedAt", "claimedUntil"`,
);

export interface FiledBug {
  bugId: string;
  workflowId: string;
  created: boolean;
  temporalUiUrl: string;
}

interface StoredBug {
  id: string;
  workflowId: string;
  priority: BugPriority;
  title: string;
  workflowStartedAt: Date | null;
  claimedUntil: Date | null;
}

/**
 * The client's own queries report a Prisma code, its raw queries PostgreSQL's SQLSTATE in their
 * meta; hot statements (src/db/sql.ts) fail with pg's error and its SQLSTATE.
 */
function isViolation(err: unknown, prismaCode: string, state: string): boolean {
  if (sqlState(err) === state) return true;
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  return err.code === prismaCode || JSON.stringify(err.meta ?? {}).includes(state);
}
const isForeignKeyViolation = (err: unknown) => isViolation(err, 'P2003', '23503');
export const isUniqueViolation = (err: unknown) => isViolation(err, 'P2002', '23505');

export interface IntakeDeps {
  prisma: PrismaClient;
  temporal: Client;
  temporalUiUrl: string;
  /**
   * With a dispatcher, a new report is handed over once stored and fileBug returns without waiting
   * for Temporal (the HTTP intake); without one, the workflow is started before it returns.
   */
  dispatcher?: FixDispatcher;
}

/** Links only the service itself sets (never the public intake): the GitHub issue a report came from. */
export interface ReportLinks {
  githubIssueNumber?: number;
}

export async function fileBug(
  deps: IntakeDeps,
  project: { id: string; key: string },
  report: BugReportInput,
  idempotencyKey?: string,
  links: ReportLinks = {},
): Promise<FiledBug> {
  const externalId = report.externalId ?? idempotencyKey ?? randomUUID();
  const workflowId = fixWorkflowId(project, externalId);
  // One statement for the common case (a new report) and for a retry: the insert does nothing on
  // a duplicate, and then the stored twin answers. Only a duplicate (project, external id) is
  // skipped; any other conflict is an error, not a silent no-op.
  let created = true;
  let bug: StoredBug | undefined;
  let workflowIdTaken = false;
  try {
    [bug] = await hotQuery<StoredBug>(deps.prisma, INSERT_REPORT, [
      randomUUID(),
      project.id,
      externalId,
      workflowId,
      report.title,
      report.description,
      report.reproductionSteps ?? null,
      report.errorLogs ?? null,
      report.priority,
      report.reporter ?? null,
      report.source,
      links.githubIssueNumber ?? null,
      taskQueues.main,
      !!deps.dispatcher?.claimsOnInsert(),
      CLAIM_MS,
    ]);
  } catch (err) {
    // The project was deleted between authentication and this insert.
    if (isForeignKeyViolation(err)) throw new ProjectGoneError(project.key);
    // The workflowId index: a concurrent twin can trip it before the arbiter index sees the
    // conflict (the twin is then found below), or another report holds the id.
    if (!isUniqueViolation(err)) throw err;
    workflowIdTaken = true;
  }
  if (!bug) {
    // A retry (or a concurrent twin) of a report already filed: answer with that one.
    const twin = await deps.prisma.bugReport.findUnique({
      where: { projectId_externalId: { projectId: project.id, externalId } },
      select: { id: true, workflowId: true, priority: true, title: true, workflowStartedAt: true, claimedUntil: true },
    });
    // No twin after a unique violation: the workflow id belongs to another report.
    if (!twin && workflowIdTaken) throw new WorkflowIdTakenError(workflowId);
    if (!twin) throw new Error(`report ${externalId} of project ${project.key} vanished while it was filed`);
    bug = twin;
    created = false;
  }
  const startable: StartableBug = {
    bugId: bug.id,
    workflowId: bug.workflowId,
    priority: bug.priority,
    title: bug.title,
    projectId: project.id,
    projectKey: project.key,
  };
  if (deps.dispatcher) {
    // A retry of a report whose start was lost goes back in the queue too, to be claimed first:
    // only a report this call stored is claimed by its INSERT for this process.
    if (!bug.workflowStartedAt) deps.dispatcher.enqueue(startable, created ? bug.claimedUntil : null);
  } else if (!bug.workflowStartedAt) {
    await startFixWorkflow(deps, startable);
    await deps.prisma.bugReport.update({ where: { id: bug.id }, data: { workflowStartedAt: new Date() } });
  }
  return { bugId: bug.id, workflowId: bug.workflowId, created, temporalUiUrl: fixUiUrl(deps, bug.workflowId) };
}
