/** A bug report row for a fixture project and its fix workflow, started the way the intake does. */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { PrismaClient } from '../../src/db/prisma.js';
import type { FixInput } from '../../src/domain/fix/fix.js';
import { taskQueues } from '../../temporal.config.js';

export interface FixToStart {
  workflowId: string;
  externalId: string;
  /** defaults to the pagination fixture's report */
  title?: string;
  description?: string;
  budgets?: FixInput['budgets'];
}

export async function startFix(
  stack: { prisma: PrismaClient; temporal: Client },
  project: { id: string; key: string },
  fix: FixToStart,
): Promise<WorkflowHandle> {
  const bug = await stack.prisma.bugReport.create({
    data: {
      projectId: project.id,
      externalId: fix.externalId,
      workflowId: fix.workflowId,
      title: fix.title ?? 'Product list page 1 skips the first two products',
      description: fix.description ?? 'Page 1 starts at the third product.',
    },
  });
  return stack.temporal.workflow.start('bugFixWorkflow', {
    taskQueue: taskQueues.main,
    workflowId: fix.workflowId,
    args: [{ bugId: bug.id, projectId: project.id, projectKey: project.key, budgets: fix.budgets } satisfies FixInput],
  });
}
