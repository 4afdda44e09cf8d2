/**
 * The end of an intake test file: no worker serves the fixes it started, so they are terminated,
 * and its project (with its reports) is deleted.
 */
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../../src/db/prisma.js';

export async function endProjectFixes(prisma: PrismaClient, temporal: Client, projectKey: string): Promise<void> {
  const bugs = await prisma.bugReport.findMany({ where: { project: { key: projectKey } }, select: { workflowId: true } });
  for (const b of bugs)
    await temporal.workflow
      .getHandle(b.workflowId)
      .terminate('test cleanup')
      .catch(() => undefined);
  await prisma.project.deleteMany({ where: { key: projectKey } });
}
