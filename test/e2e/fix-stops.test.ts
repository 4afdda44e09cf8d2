/**
 * A fix that cannot finish must still end cleanly: budget exhaustion and a kill signal both end it
 * with a clear status and reason, remove the sandbox and record the outcome.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { SANDBOX_LABELS } from '../../src/sandbox/container.js';
import type { FixInput, FixOutcome } from '../../src/domain/fix/fix.js';
import { taskQueues } from '../../temporal.config.js';
import { killSignal, statusQuery } from '../../workflows/bug-fix/messages.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import type { ModelScript } from '../../dev/stand-ins/anthropic-api.js';

/** A model that keeps looking around and never finishes. */
const wanderingScript: ModelScript = () => [{ type: 'tool_use', name: 'list_files', input: {} }];

describe('fixes that stop early', () => {
  let stack: Stack;
  let projectId: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-stops-'));
  const suffix = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    stack = await startStack({ script: wanderingScript, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
    projectId = (await createFixtureProject(stack.prisma, stack.github, { key: `stops-${suffix}`, repo: 'stops', dir: tmp })).project.id;
  });
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function startFix(name: string, budgets: FixInput['budgets']) {
    const workflowId = `bugfix-stops-${suffix}-${name}`;
    const bug = await stack.prisma.bugReport.create({
      data: { projectId, externalId: name, workflowId, title: `Cannot be fixed (${name})`, description: 'The model never finishes.' },
    });
    const handle = await stack.temporal.workflow.start('bugFixWorkflow', {
      taskQueue: taskQueues.main,
      workflowId,
      args: [{ bugId: bug.id, projectId, projectKey: `stops-${suffix}`, budgets } satisfies FixInput],
    });
    return { bug, handle };
  }

  async function expectCleanedUp(workflowId: string, bugId: string, status: string) {
    const left = await new Docker().listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${workflowId}`] } });
    expect(left).toEqual([]);
    const row = await stack.prisma.bugReport.findUniqueOrThrow({ where: { id: bugId } });
    expect(row.status).toBe(status);
    return row;
  }

  test('the iteration budget ends the fix as failed, with the reason', async () => {
    const { bug, handle } = await startFix('iterations', { maxIterations: 3 });
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome).toMatchObject({ status: 'failed', reason: 'iteration budget exhausted (3)', iterations: 3 });
    const row = await expectCleanedUp(handle.workflowId, bug.id, 'FAILED');
    expect(row.statusReason).toBe('iteration budget exhausted (3)');
    expect(await stack.prisma.ledgerEntry.count({ where: { workflowId: handle.workflowId } })).toBe(3);
  });

  test('the cost budget stops it before a call it cannot pay for', async () => {
    // Below the price of one useful answer (1,024 output tokens): not even a first call is made.
    const { bug, handle } = await startFix('cost', { maxCostUsd: 0.0001 });
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/^cost budget exhausted \(\$0\.0001 left; /);
    expect(outcome.iterations).toBe(1);
    expect(outcome.costUsd).toBe(0);
    await expectCleanedUp(handle.workflowId, bug.id, 'FAILED');
    expect(await stack.prisma.ledgerEntry.count({ where: { workflowId: handle.workflowId } })).toBe(0);
  });

  test('a kill signal ends a running fix and still cleans up', async () => {
    const { bug, handle } = await startFix('kill', { maxIterations: 500 });
    await expect.poll(async () => (await handle.query(statusQuery)).iteration, { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(2);
    await handle.signal(killSignal, { reason: 'test says stop', actor: 'vitest' });
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome).toMatchObject({ status: 'cancelled', reason: 'killed by vitest: test says stop' });
    expect(outcome.iterations).toBeLessThan(500);
    expect((await handle.query(statusQuery)).phase).toBe('cancelled');
    await expectCleanedUp(handle.workflowId, bug.id, 'CANCELLED');
  });
});
