/**
 * `npm run bench:e2e`: orchestration overhead of one fix, intake → PR, on real Temporal, Docker,
 * PostgreSQL and git with the scripted model (10 tool calls). The fixture's own test time (the
 * agent's `npm test` runs and the validation gates, as the workflow measured them) is subtracted.
 * Writes bench/results/e2e.json. Runs: BENCH_RUNS (default 7) after one warm-up run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FixOutcome } from '../src/domain/fix/fix.js';
import { issueIntakeKey } from '../src/projects/project-store.js';
import { startStack } from '../dev/local-stack.js';
import { quantile, runMain, writeResult } from './support.js';
import { createFixtureProject } from '../dev/fixture-remotes.js';
import { paginationScenario } from '../dev/scenarios/pagination.js';
import sampleBug from '../dev/sample-bug.json' with { type: 'json' };
import { waitForFixStart } from '../src/fixes/resolve-fix.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TARGET_P50_MS = 3000;

async function main(): Promise<void> {
  const stack = await startStack({ script: paginationScenario, temporal: 'ephemeral', httpPort: 0 });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-bench-'));
  const suffix = Date.now().toString(36);
  const { project } = await createFixtureProject(stack.prisma, stack.github, { key: `bench-${suffix}`, repo: 'shop', dir: tmp });
  const key = await issueIntakeKey(stack.prisma, project.id);

  const totals: number[] = [];
  const overheads: number[] = [];
  const projectTime: number[] = [];
  let toolCalls = 0;
  try {
    for (let i = 0; i <= RUNS; i++) {
      const started = performance.now();
      const res = await fetch(`${stack.httpUrl}/api/bugs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ ...sampleBug, externalId: `bench-${suffix}-${i}` }),
      });
      const { workflowId } = (await res.json()) as { workflowId: string };
      const outcome = (await (await waitForFixStart(stack.temporal, workflowId)).result()) as FixOutcome;
      const total = performance.now() - started;
      if (outcome.status !== 'pr_created') throw new Error(`run ${i} did not open a PR: ${outcome.reason}`);
      const own = outcome.timings.commandsMs + outcome.timings.validationMs;
      if (i === 0) {
        toolCalls = stack.anthropic!.answered.length + 1; // 9 turns, one with two reads
        continue; // warm-up: first sandbox of the process, JIT, connection pools
      }
      totals.push(total);
      projectTime.push(own);
      overheads.push(total - own);
      console.log(`run ${i}: total ${total.toFixed(0)} ms, fixture tests ${own} ms, overhead ${(total - own).toFixed(0)} ms`);
    }
  } finally {
    await stack.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const result = {
    runs: overheads.length,
    toolCalls,
    p50Ms: Math.round(quantile(overheads, 0.5)),
    p95Ms: Math.round(quantile(overheads, 0.95)),
    totalP50Ms: Math.round(quantile(totals, 0.5)),
    fixtureTestP50Ms: Math.round(quantile(projectTime, 0.5)),
    targetP50Ms: TARGET_P50_MS,
    p50ToTargetRatio: Number((quantile(overheads, 0.5) / TARGET_P50_MS).toFixed(3)),
  };
  writeResult('e2e', result);
}

runMain(main);
