/**
 * Two worker hosts on one machine: host A on the default Docker engine, host B on a second engine
 * (dev/docker-engine.ts), each a worker process with its own BUGFIX_HOST_ID, sharing this run's
 * Temporal, PostgreSQL and stand-ins. A kill removes the sandbox on the host that holds it; a
 * host lost mid-fix (worker SIGKILLed, engine stopped) hands the fix to the other host, which
 * completes it once; when the lost host returns, its startup sweep leaves nothing of the fix.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SANDBOX_LABELS } from '../../src/sandbox/container.js';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { startDockerEngine, type DockerEngine } from '../../dev/docker-engine.js';
import { startWorkerHost, type WorkerHost } from '../../dev/worker-host.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import type { ModelScript, ReplyBlock } from '../../dev/stand-ins/anthropic-api.js';
import { startFix } from '../support/start-fix.js';

const sandboxesOf = (docker: Docker, workflowId: string) =>
  docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${workflowId}`] } });

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('several worker hosts', () => {
  let stack: Stack;
  let engineB: DockerEngine | undefined;
  const hosts: WorkerHost[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-multihost-'));
  const suffix = Math.random().toString(36).slice(2, 8);
  const hostId = process.env.BUGFIX_HOST_ID!;
  const defaultEngine = new Docker();
  const engineName = `mh-${process.env.BUGFIX_TEST_RUN ?? 'adhoc'}`
    .slice(0, 20)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');

  let script: ModelScript = paginationScenario;
  const startHost = async (name: 'a' | 'b') => {
    const host = await startWorkerHost({
      hostId: `${hostId}-${name}`,
      dockerHost: name === 'b' ? engineB!.dockerHost : undefined,
      logFile: path.join(tmp, `worker-${name}.log`),
      env: { ANTHROPIC_BASE_URL: stack.anthropic!.url, ANTHROPIC_API_KEY: 'stand-in-key', GITHUB_API_URL: stack.github!.url },
    });
    hosts.push(host);
    return host;
  };

  beforeAll(async () => {
    const [engine, started] = await Promise.all([
      startDockerEngine({ name: engineName, images: [process.env.SANDBOX_IMAGE ?? 'bugfix-sandbox:latest'] }),
      startStack({ script: (req, turn) => script(req, turn), temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0, inProcessWorker: false }),
    ]);
    engineB = engine;
    stack = started;
  });
  afterAll(async () => {
    for (const h of hosts) await h.kill();
    await stack?.stop();
    // This run's sandboxes on B (a failed test may leave some), then the engine.
    for (const c of (await engineB?.docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`] } }).catch(() => [])) ?? [])
      if (c.Labels[SANDBOX_LABELS.host]?.startsWith(hostId)) await engineB!.docker.getContainer(c.Id).remove({ force: true });
    // Each run's engine is its own (two runs on one machine must not share one): its data goes too.
    await engineB?.remove();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a fix killed from outside has its sandbox removed on the host that holds it', async () => {
    // Only host B polls: the fix's sandbox can only be there.
    await startHost('b');
    const workflowId = `bugfix-multihost-kill-${suffix}`;
    const { project } = await createFixtureProject(stack.prisma, stack.github, { key: `mhkill-${suffix}`, repo: 'mhkill', dir: tmp });
    const handle = await startFix(stack, project, { workflowId, externalId: `kill-${suffix}` });
    // Provisioned (the model is asked): the fix knows its sandbox's host.
    await until('the first model call', async () => stack.anthropic!.received.length > 0, 60_000);
    expect(await sandboxesOf(engineB!.docker, workflowId)).toHaveLength(1);
    await handle.signal('kill', { reason: 'stopped by the multi-host test' });
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome.status).toBe('cancelled');
    expect(await sandboxesOf(engineB!.docker, workflowId)).toEqual([]);
    expect(await sandboxesOf(defaultEngine, workflowId)).toEqual([]);
  });

  test('a host lost mid-fix: the other host completes it once, and the returning host keeps nothing of it', async () => {
    const [hostB] = hosts;
    const workflowId = `bugfix-multihost-loss-${suffix}`;
    const { project } = await createFixtureProject(stack.prisma, stack.github, { key: `mhloss-${suffix}`, repo: 'mhloss', dir: tmp });

    // Host A starts while the fix runs on B (its sandbox already there). Until A polls, the model
    // keeps listing files (scenario turn 1 reads a file list), so B is lost only once A can take over.
    let hostA: WorkerHost | undefined; // eslint-disable-line prefer-const -- read by the script before it is set
    const answeredBefore = stack.anthropic!.answered.length;
    let lost: Promise<void> | undefined;
    // B comes back while the fix still works on A: its engine still holds the fix's old container
    // (stopped with the engine), and its worker removes it as it starts, not 10 minutes later.
    let heldOnReturn = -1;
    let returnSettled = false;
    let returned: Promise<void> | undefined;
    let movedToA = false;
    const returnB = async () => {
      await lost;
      // B's queue unpolled for a minute: the sandbox is lost and provisioned again, on A.
      await until("the fix's new sandbox on host A", async () => (await sandboxesOf(defaultEngine, workflowId)).length > 0, 150_000);
      movedToA = true;
      engineB = await startDockerEngine({ name: engineName });
      heldOnReturn = (await sandboxesOf(engineB.docker, workflowId)).length;
      await startHost('b');
      await until('host B to remove what it held of the fix', async () => (await sandboxesOf(engineB!.docker, workflowId)).length === 0, 30_000);
    };
    const plan = new Map<number, number | 'list' | 'test'>(); // model turn -> scenario turn (a retried call gets the same)
    let next = 0;
    script = (req, turn) => {
      if (!plan.has(turn)) {
        if (next === 1 && !hostA) plan.set(turn, 'list');
        // Scenario turn 6 reads a passing test run: more of them hold the fix on A until B is back.
        else if (next === 6 && returned && !returnSettled) plan.set(turn, 'test');
        else plan.set(turn, next++);
      }
      const step = plan.get(turn)!;
      if (step === 'list') return [{ type: 'tool_use', name: 'list_files', input: {} } satisfies ReplyBlock];
      if (step === 'test') return [{ type: 'tool_use', name: 'run_command', input: { command: 'npm test', timeout_seconds: 60 } } satisfies ReplyBlock];
      // After the edit was checkpointed (scenario turn 5 asks for the tests): B's worker and engine go.
      if (step === 5 && !lost) {
        lost = hostB!.kill().then(() => engineB!.stop());
        returned = returnB().finally(() => (returnSettled = true));
        returned.catch(() => undefined); // awaited by the test below
      }
      return paginationScenario(req, step);
    };
    const budgets = { maxIterations: 300, maxCostUsd: 100, maxTokens: 100_000_000 };
    const handle = await startFix(stack, project, { workflowId, externalId: `loss-${suffix}`, budgets });
    await until('the sandbox on host B', async () => (await sandboxesOf(engineB!.docker, workflowId)).length > 0, 60_000);
    hostA = await startHost('a');

    const outcome = (await handle.result()) as FixOutcome;
    expect(returned).toBeDefined();
    await returned;
    expect(movedToA).toBe(true);
    expect(heldOnReturn).toBeGreaterThan(0);
    expect(outcome.reason).toBeUndefined();
    expect(outcome.status).toBe('pr_created');
    // The fix moved: provisioned on B, then on A.
    const history = await handle.fetchHistory();
    const provisions = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'provisionSandbox');
    expect(provisions).toHaveLength(2);
    expect(stack.github!.pulls('acme', 'mhloss')).toHaveLength(1);
    // The ledger: each answered call of this fix has its own row, or a `lost` row when the call
    // was in flight on the killed worker; no row twice, none left pending.
    const ledger = await stack.prisma.ledgerEntry.findMany({ where: { workflowId } });
    const answeredHere = stack.anthropic!.answered.slice(answeredBefore).map((a) => a.requestId);
    const rows = ledger.filter((l) => l.kind === 'answered').map((l) => l.providerRequestId!);
    expect(new Set(rows).size).toBe(rows.length);
    expect(rows.filter((id) => !answeredHere.includes(id))).toEqual([]);
    expect(ledger.filter((l) => l.kind !== 'answered' && l.kind !== 'lost')).toEqual([]);
    expect(answeredHere.length - rows.length).toBeLessThanOrEqual(ledger.filter((l) => l.kind === 'lost').length);
    expect(await sandboxesOf(defaultEngine, workflowId)).toEqual([]);
    expect(await sandboxesOf(engineB!.docker, workflowId)).toEqual([]);
  });
});
