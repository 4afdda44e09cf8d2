/**
 * CRITICAL before LOW when workers are busy: reports are filed through the intake while no worker
 * polls (a backlog, as when every slot is taken), LOW ones first and the CRITICAL one last. Then a
 * worker with a single workflow-task slot starts: the server must dispatch the CRITICAL fix first.
 * Order is read from each workflow's first WorkflowTaskStarted event (server-assigned).
 */
import { optionalTsToDate } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { fileBug } from '../../src/intake/file-bug.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { connectClient, connectWorker } from '../../src/temporal/connect.js';
import { dataConverter } from '../../src/temporal/payload-keys.js';
import { workflowBundle } from '../../src/worker.js';
import { taskQueues } from '../../temporal.config.js';
import { endProjectFixes } from '../support/project-cleanup.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
const suffix = Math.random().toString(36).slice(2, 8);
const projectKey = `prio-${suffix}`;

beforeAll(async () => {
  temporal = await connectClient();
});

afterAll(async () => {
  await endProjectFixes(prisma, temporal, projectKey);
  await temporal.connection.close();
  await prisma.$disconnect();
});

async function firstTaskStarted(workflowId: string): Promise<Date | undefined> {
  const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
  const e = history.events?.find((ev) => ev.workflowTaskStartedEventAttributes);
  return optionalTsToDate(e?.eventTime);
}

test('a CRITICAL report filed after LOW ones is started first', async () => {
  const project = await upsertProject(prisma, { key: projectKey, name: 'Priority', repoOwner: 'acme', repoName: 'prio' });
  const deps = { prisma, temporal, temporalUiUrl: 'http://localhost:8233' };
  const file = (priority: 'LOW' | 'CRITICAL', i: number) =>
    fileBug(deps, project, { title: `${priority} report ${i}`, description: 'queued', priority, source: 'api', externalId: `${priority}-${i}` });
  const low = [];
  for (let i = 0; i < 6; i++) low.push(await file('LOW', i));
  const critical = await file('CRITICAL', 0);

  // One slot, no cache, one poller: workflow tasks are taken strictly one at a time. No activities:
  // the fixes stop at their first activity, which is all this test needs to see.
  const { connection, namespace } = await connectWorker();
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: taskQueues.main,
    workflowBundle: await workflowBundle(),
    dataConverter: dataConverter(),
    maxConcurrentWorkflowTaskExecutions: 1,
    maxCachedWorkflows: 0,
    maxConcurrentWorkflowTaskPolls: 1,
  });
  const ids = [critical, ...low].map((f) => f.workflowId);
  try {
    await worker.runUntil(
      vi.waitFor(
        async () => {
          for (const id of ids) expect(await firstTaskStarted(id)).toBeDefined();
        },
        { timeout: 60_000, interval: 250 },
      ),
    );
  } finally {
    await connection.close();
  }
  const started = await Promise.all(ids.map(async (id) => ({ id, at: (await firstTaskStarted(id))!.getTime() })));
  const order = started.sort((a, b) => a.at - b.at).map((s) => s.id);
  expect(order[0]).toBe(critical.workflowId);
});
