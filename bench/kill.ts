/**
 * `npm run bench:kill`: the big red button under load. 50 fixes run mid-iteration (the scripted
 * model answers slowly), the global kill switch is activated, and the clock runs until no fix is
 * running, the model stand-in receives no further request and no sandbox container remains.
 * Repeated BENCH_RUNS times (default 5); writes bench/results/kill.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { SANDBOX_LABELS } from '../src/sandbox/container.js';
import { fileBug } from '../src/intake/file-bug.js';
import { activateKillSwitch, deactivateKillSwitch } from '../src/safety/kill-switch-client.js';
import { startStack } from '../dev/local-stack.js';
import { taskQueues } from '../temporal.config.js';
import { createFixtureProject } from '../dev/fixture-remotes.js';
import type { ModelScript } from '../dev/stand-ins/anthropic-api.js';
import { quantile, runMain, writeResult } from './support.js';

const FIXES = Number(process.env.BENCH_FIXES ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MODEL_DELAY_MS = 1500;
const wandering: ModelScript = () => [{ type: 'tool_use', name: 'list_files', input: {} }];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const stack = await startStack({ script: wandering, temporal: 'ephemeral', httpPort: 0 });
  const docker = new Docker();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-bench-kill-'));
  const times: number[] = [];
  try {
    stack.anthropic!.setDelay(MODEL_DELAY_MS);
    const { project } = await createFixtureProject(stack.prisma, stack.github, {
      key: `kill-${Date.now().toString(36)}`,
      repo: 'kill',
      dir: tmp,
      validation: {},
    });
    const running = async () => (await stack.temporal.workflow.count(`WorkflowType = 'bugFixWorkflow' AND ExecutionStatus = 'Running'`)).count;
    const sandboxes = async () =>
      (await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`, `${SANDBOX_LABELS.project}=${project.key}`] } })).length;

    for (let run = 1; run <= RUNS; run++) {
      const filed = await Promise.all(
        Array.from({ length: FIXES }, (_, i) =>
          fileBug({ prisma: stack.prisma, temporal: stack.temporal, temporalUiUrl: stack.config.TEMPORAL_UI_URL }, project, {
            title: `Load ${run}-${i}`,
            description: 'kept busy',
            priority: 'MEDIUM',
            source: 'bench',
            externalId: `kill-${run}-${i}`,
          }),
        ),
      );
      // Wait until every fix is mid-iteration: a model call in flight or done for each.
      while ((await stack.prisma.ledgerEntry.groupBy({ by: ['workflowId'], where: { workflowId: { in: filed.map((f) => f.workflowId) } } })).length < FIXES)
        await sleep(250);
      const started = performance.now();
      await activateKillSwitch(stack, taskQueues.main, { scope: 'global', reason: `bench run ${run}`, actor: 'bench' });
      while ((await running()) > 0 || (await sandboxes()) > 0) await sleep(50);
      const requestsAtStop = stack.anthropic!.received.length;
      const elapsed = performance.now() - started;
      await sleep(2000);
      const lateRequests = stack.anthropic!.received.length - requestsAtStop;
      times.push(elapsed);
      console.log(`run ${run}: ${FIXES} fixes stopped and cleaned up in ${elapsed.toFixed(0)} ms; model requests after the stop: ${lateRequests}`);
      if (lateRequests > 0) throw new Error(`the model stand-in received ${lateRequests} requests after every fix had stopped`);
      await deactivateKillSwitch(stack, taskQueues.main, { scope: 'global', reason: 'next run', actor: 'bench' });
    }
  } finally {
    await stack.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  writeResult('kill', {
    fixes: FIXES,
    runs: times.length,
    p50Ms: Math.round(quantile(times, 0.5)),
    p95Ms: Math.round(quantile(times, 0.95)),
    maxMs: Math.round(Math.max(...times)),
    targetP95Ms: 2000,
    cpus: os.cpus().length,
  });
}

runMain(main);
