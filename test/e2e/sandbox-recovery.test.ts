/**
 * A container removed mid-fix: the scripted model, just after the agent's edit was checkpointed,
 * removes the sandbox from under the running fix. The next tool call finds it gone, the workflow
 * provisions again, provisioning restores the checkpoint (the edit is back, uncommitted), and the
 * fix completes: a pull request whose branch passes the fixture's tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SANDBOX_LABELS } from '../../src/sandbox/container.js';
import { startStack, type Stack } from '../../dev/local-stack.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { taskQueues } from '../../temporal.config.js';
import { startFix } from '../support/start-fix.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import type { ModelScript } from '../../dev/stand-ins/anthropic-api.js';

const runTests = (dir: string) => spawnSync('node', ['--test'], { cwd: dir, encoding: 'utf8' }).status;
const sandboxesOf = (workflowId: string) => new Docker().listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${workflowId}`] } });

describe('sandbox recovery', () => {
  let stack: Stack;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-recovery-'));
  const suffix = Math.random().toString(36).slice(2, 8);
  const workflowId = `bugfix-recovery-${suffix}`;
  const removed: string[] = [];

  /** The pagination playbook, plus: when asked for turn 5 (the edit is done), kill the sandbox. */
  const script: ModelScript = (req, turn) => {
    if (turn === 5 && removed.length === 0) {
      // Synchronous on purpose: the container is gone before the reply asks for `npm test`.
      const ids = execFileSync('docker', ['ps', '-q', '--filter', `label=${SANDBOX_LABELS.workflowId}=${workflowId}`], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
      for (const id of ids) execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
      removed.push(...ids);
    }
    return paginationScenario(req, turn);
  };

  beforeAll(async () => {
    stack = await startStack({ script, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a container removed mid-fix is recreated from the checkpoint and the fix completes', async () => {
    const { project, bare } = await createFixtureProject(stack.prisma, stack.github, { key: `recover-${suffix}`, repo: 'recover', dir: tmp });
    const handle = await startFix(stack, project, { workflowId, externalId: suffix });
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome.reason).toBeUndefined();
    expect(outcome.status).toBe('pr_created');
    expect(removed).toHaveLength(1);

    // Provisioned twice: once at the start, once after the loss.
    const history = await handle.fetchHistory();
    const provisions = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'provisionSandbox');
    expect(provisions).toHaveLength(2);
    // Checkpoints served the recovery and were dropped once the fix was recorded.
    expect(await stack.prisma.workspaceCheckpoint.count({ where: { workflowId } })).toBe(0);

    // The branch really carries the fix made before the loss.
    const pulls = stack.github!.pulls('acme', 'recover');
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ head: outcome.pr!.branch, base: 'main' });
    const checkout = path.join(tmp, 'checkout');
    execFileSync('git', ['clone', '-q', '--branch', outcome.pr!.branch, bare, checkout]);
    // One commit on main by the service (delivery squashes the agent's commits on the host).
    expect(execFileSync('git', ['log', '--format=%an|%s', 'origin/main..HEAD'], { cwd: checkout, encoding: 'utf8' })).toMatch(/^bugfix-service\|Fix: .+\n$/);
    expect(runTests(checkout)).toBe(0);
    expect(await sandboxesOf(workflowId)).toEqual([]);
  });

  test('the reaper workflow, through the worker, removes an orphaned sandbox of this host', async () => {
    const orphan = `bugfix-orphan-${suffix}`;
    const c = await new Docker().createContainer({
      Image: stack.config.SANDBOX_IMAGE,
      Cmd: ['sleep', '600'],
      Labels: { [SANDBOX_LABELS.managed]: 'true', [SANDBOX_LABELS.workflowId]: orphan, [SANDBOX_LABELS.host]: process.env.BUGFIX_HOST_ID! },
      HostConfig: { NetworkMode: 'none' },
    });
    const result = await stack.temporal.workflow.execute('sandboxReaperWorkflow', {
      taskQueue: taskQueues.main,
      workflowId: `reaper-${suffix}`,
      args: [{ hostQueue: taskQueues.host(), minAgeMs: 0 }],
    });
    expect(result).toEqual({ checked: 1, removed: 1 });
    expect(await sandboxesOf(orphan)).toEqual([]);
    await c.remove({ force: true }).catch(() => undefined);
  });
});
