/**
 * Outboxes of several API processes (issue #17): two dispatchers, each with its own database pool
 * as two processes have, work the same burst of stored rows on real PostgreSQL and Temporal.
 * Every workflow start (or GitHub hand-over) the dispatchers attempt is counted at the client:
 * each row is attempted exactly once, not merely deduplicated by Temporal's fixed workflow ids.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { taskQueues } from '../../temporal.config.js';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { dispatchPendingDeliveries } from '../../src/github/webhook-intake.js';
import { fileBug } from '../../src/intake/file-bug.js';
import { FixDispatcher } from '../../src/intake/fix-dispatcher.js';
import { TriageDispatcher } from '../../src/intake/triage-dispatcher.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';

const N = 60;
const pools = [createPrisma(loadConfig().DATABASE_URL), createPrisma(loadConfig().DATABASE_URL)] as const;
const prisma = pools[0];
const suffix = Math.random().toString(36).slice(2, 8);
const quiet = { error: () => undefined, warn: () => undefined };
let temporal: Client;
let project: { id: string; key: string };
/** workflow id (or delivery id) → how many times a dispatcher asked Temporal for it */
const attempts = new Map<string, number>();
const started: string[] = [];

beforeAll(async () => {
  temporal = await connectClient();
  // Counted, then passed on: the real server still answers every call.
  const start = temporal.workflow.start.bind(temporal.workflow);
  temporal.workflow.start = ((type: string, options: { workflowId: string }) => {
    attempts.set(options.workflowId, (attempts.get(options.workflowId) ?? 0) + 1);
    started.push(options.workflowId);
    return start(type, options as Parameters<typeof start>[1]);
  }) as typeof temporal.workflow.start;
  const signalWithStart = temporal.workflow.signalWithStart.bind(temporal.workflow);
  temporal.workflow.signalWithStart = ((type: string, options: { workflowId: string; signalArgs: [{ deliveryId: string }] }) => {
    const id = options.signalArgs[0].deliveryId;
    attempts.set(id, (attempts.get(id) ?? 0) + 1);
    started.push(options.workflowId);
    return signalWithStart(type, options as unknown as Parameters<typeof signalWithStart>[1]);
  }) as typeof temporal.workflow.signalWithStart;
  project = await upsertProject(prisma, { key: `claims-${suffix}`, name: 'Claims', repoOwner: 'acme', repoName: `claims-${suffix}` });
});

afterAll(async () => {
  // No worker serves this file's task queue: end what the dispatchers started.
  for (const id of new Set(started))
    await temporal.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
  await prisma.gitHubDelivery.deleteMany({ where: { id: { startsWith: `claims-${suffix}` } } });
  await prisma.project.deleteMany({ where: { key: project.key } });
  await temporal.connection.close();
  await Promise.all(pools.map((p) => p.$disconnect()));
});

const deps = (p: (typeof pools)[number]) => ({ prisma: p, temporal, temporalUiUrl: 'http://localhost:8233', log: quiet });
const attemptsOf = (ids: string[]) => ids.map((id) => attempts.get(id) ?? 0);

test('two fix dispatchers polling the same backlog start each report exactly once', async () => {
  const ids = Array.from({ length: N }, (_, i) => `claims-${suffix}-poll-${i}`);
  // Stored a minute ago and never started: what a poll is for.
  await prisma.bugReport.createMany({
    data: ids.map((workflowId, i) => ({
      projectId: project.id,
      externalId: workflowId,
      workflowId,
      title: `Backlog ${i}`,
      description: 'd',
      taskQueue: taskQueues.main,
      createdAt: new Date(Date.now() - 60_000),
    })),
  });
  const dispatchers = pools.map((p) => new FixDispatcher(deps(p), { concurrency: 8 }));
  const found = await Promise.all([...dispatchers, ...dispatchers].map((d) => d.poll(0)));
  await Promise.all(dispatchers.map((d) => d.idle()));
  expect(attemptsOf(ids)).toEqual(ids.map(() => 1));
  expect(found.reduce((a, b) => a + b, 0)).toBe(N);
  expect(await prisma.bugReport.count({ where: { workflowId: { in: ids }, workflowStartedAt: null } })).toBe(0);
});

test('reports filed through one process are not started by the other process polling meanwhile', async () => {
  const [a, b] = pools.map((p) => new FixDispatcher(deps(p), { concurrency: 8 }));
  const filing = Promise.all(
    Array.from({ length: N }, (_, i) =>
      fileBug({ ...deps(pools[0]), dispatcher: a! }, project, {
        title: `Filed ${i}`,
        description: 'd',
        priority: 'LOW',
        source: 'test',
        externalId: `claims-${suffix}-filed-${i}`,
      }),
    ),
  );
  // The other process polls with no grace at all while the burst is stored and started.
  let polling = true;
  const other = (async () => {
    while (polling) await b!.poll(0);
  })();
  const filed = await filing;
  await a!.idle();
  polling = false;
  await other;
  await b!.idle();
  expect(attemptsOf(filed.map((f) => f.workflowId))).toEqual(filed.map(() => 1));
});

test('two triage dispatchers polling the same inbound messages start each triage exactly once', async () => {
  const rows = Array.from({ length: N }, (_, i) => ({
    projectId: project.id,
    source: 'chat',
    sender: `sam-${i}`,
    subject: `message ${i}`,
    text: 'checkout fails',
    externalId: `claims-${suffix}-inbound-${i}`,
    triageWorkflowId: `claims-${suffix}-triage-${i}`,
    taskQueue: taskQueues.main,
  }));
  await prisma.inboundMessage.createMany({ data: rows });
  const dispatchers = pools.map((p) => new TriageDispatcher(deps(p)));
  await Promise.all([...dispatchers, ...dispatchers].map((d) => d.poll(0)));
  await Promise.all(dispatchers.map((d) => d.idle()));
  const ids = rows.map((r) => r.triageWorkflowId);
  expect(attemptsOf(ids)).toEqual(ids.map(() => 1));
  expect(await prisma.inboundMessage.count({ where: { triageWorkflowId: { in: ids }, workflowStartedAt: null } })).toBe(0);
});

test('two GitHub delivery dispatchers hand each pending delivery over exactly once', async () => {
  const repoFullName = `acme/claims-${suffix}`;
  const ids = Array.from({ length: 30 }, (_, i) => `claims-${suffix}-delivery-${i}`);
  await prisma.gitHubDelivery.createMany({
    data: ids.map((id, i) => ({
      id,
      event: 'issues',
      outcome: 'pending',
      // Fresh: other test files' servers (5 s grace) leave them to the dispatchers under test.
      receivedAt: new Date(),
      trigger: {
        input: { projectId: project.id, projectKey: project.key, repoFullName, issueNumber: 1000 + i },
        trigger: {
          kind: 'label',
          deliveryId: id,
          repoFullName,
          issueNumber: 1000 + i,
          issueTitle: `Issue ${i}`,
          issueBody: 'b',
          issueUrl: `https://github.com/${repoFullName}/issues/${1000 + i}`,
          requestedBy: 'octocat',
        },
      },
    })),
  });
  const handed = await Promise.all([0, 1, 0, 1].map((i) => dispatchPendingDeliveries({ ...deps(pools[i]!), botLogin: 'bugfix-bot' }, 0)));
  expect(attemptsOf(ids)).toEqual(ids.map(() => 1));
  expect(handed.reduce((a, b) => a + b, 0)).toBe(ids.length);
  expect(await prisma.gitHubDelivery.count({ where: { id: { in: ids }, outcome: 'dispatched' } })).toBe(ids.length);
});

test('a start that failed gives its claim back: the next poll of any process retries at once', async () => {
  const workflowId = `claims-${suffix}-given-back-${randomUUID().slice(0, 8)}`;
  const down = new FixDispatcher({
    ...deps(pools[0]),
    temporal: { ...temporal, withDeadline: () => Promise.reject(new Error('Temporal down')) } as unknown as Client,
  });
  const row = await prisma.bugReport.create({
    data: {
      projectId: project.id,
      externalId: workflowId,
      workflowId,
      title: 't',
      description: 'd',
      taskQueue: taskQueues.main,
      createdAt: new Date(Date.now() - 60_000),
    },
  });
  expect(await down.poll(0)).toBe(1);
  await down.idle();
  expect((await prisma.bugReport.findUniqueOrThrow({ where: { id: row.id } })).claimedUntil).toBeNull();
  const up = new FixDispatcher(deps(pools[1]));
  expect(await up.poll(0)).toBe(1);
  await up.idle();
  expect(attempts.get(workflowId)).toBe(1);
});
