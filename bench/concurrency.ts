/**
 * `npm run bench:concurrency`: BENCH_FIXES fixes (default 100) filed at once and run by ONE worker
 * process (scripted model, real sandboxes, real validation), each to its PR. Measures each fix's
 * time from start to close, failures, the most sandboxes alive at once and the worker's peak RSS.
 * Worker limits come from temporal.config.ts (workerTuning, hostWorkerTuning), as in production.
 * Writes bench/results/concurrency.json.
 */
import './concurrency-env.js';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { SANDBOX_LABELS } from '../src/sandbox/container.js';
import { loadConfig } from '../src/config.js';
import { createPrisma } from '../src/db/prisma.js';
import type { FixOutcome } from '../src/domain/fix/fix.js';
import { fileBug } from '../src/intake/file-bug.js';
import { connectClient } from '../src/temporal/connect.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { hostWorkerTuning, workerTuning } from '../temporal.config.js';
import { createFixtureProject } from '../dev/fixture-remotes.js';
import { paginationScenario } from '../dev/scenarios/pagination.js';
import { startAnthropicStandIn } from '../dev/stand-ins/anthropic-api.js';
import { startGitHubStandIn } from '../dev/stand-ins/github-api.js';
import { quantile, runMain, writeResult } from './support.js';
import { peakRssMb, spawnWorkerProcess } from './worker-process.js';

const FIXES = Number(process.env.BENCH_FIXES ?? 100);
const TOKEN = 'ghs_concurrency0123456789abcdefghijklmno';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const config = loadConfig();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-concurrency-'));
  const docker = new Docker();
  const hostId = process.env.BUGFIX_HOST_ID!;
  const server = await startDevServer();
  process.env.TEMPORAL_ADDRESS = server.address;
  const anthropic = await startAnthropicStandIn(paginationScenario);
  const github = await startGitHubStandIn({ token: TOKEN });
  const prisma = createPrisma(config.DATABASE_URL);
  const temporal = await connectClient();
  let worker: ChildProcess | undefined;
  try {
    const suffix = Date.now().toString(36);
    const { project } = await createFixtureProject(prisma, github, { key: `conc-${suffix}`, repo: `conc-${suffix}`, dir: tmp });
    worker = spawnWorkerProcess({ anthropic: anthropic.url, github: github.url, githubToken: TOKEN }, path.join(tmp, 'worker.log'));
    const exitedEarly = new Promise<never>((_, reject) =>
      worker!.once('exit', (code) => reject(new Error(`the worker exited (${code}); see ${tmp}/worker.log`))),
    );

    const t0 = Date.now();
    const filed = await Promise.all(
      Array.from({ length: FIXES }, (_, i) =>
        fileBug({ prisma, temporal, temporalUiUrl: config.TEMPORAL_UI_URL }, project, {
          title: `Load ${i}: page 2 repeats the last item of page 1`,
          description: 'Pagination off by one.',
          priority: 'MEDIUM',
          source: 'bench',
          externalId: `conc-${i}`,
        }),
      ),
    );
    console.log(`${FIXES} fixes filed in ${Date.now() - t0} ms; one worker (pid ${worker.pid}) runs them`);

    let peakSandboxes = 0;
    let done = false;
    const sampler = (async () => {
      while (!done) {
        const boxes = await docker
          .listContainers({ filters: { label: [`${SANDBOX_LABELS.managed}=true`, `${SANDBOX_LABELS.host}=${hostId}`] } })
          .catch(() => []);
        peakSandboxes = Math.max(peakSandboxes, boxes.length);
        await sleep(1000);
      }
    })();
    const outcomes = await Promise.race([
      Promise.all(filed.map((f) => temporal.workflow.getHandle(f.workflowId).result() as Promise<FixOutcome>)),
      exitedEarly,
    ]);
    done = true;
    await sampler;
    const wallMs = Date.now() - t0;
    const workerPeakRssMb = peakRssMb(worker.pid!);

    const durations: number[] = [];
    for (const f of filed) {
      const d = await temporal.workflow.getHandle(f.workflowId).describe();
      durations.push(d.closeTime!.getTime() - d.startTime.getTime());
    }
    const failed = outcomes.filter((o) => o.status !== 'pr_created');
    for (const o of failed.slice(0, 5)) console.log(`not fixed: ${o.status} ${o.reason ?? ''}`);
    const pulls = github.pulls('acme', project.repoName).length;
    writeResult('concurrency', {
      fixes: FIXES,
      failed: failed.length,
      pullRequests: pulls,
      p50Ms: Math.round(quantile(durations, 0.5)),
      p95Ms: Math.round(quantile(durations, 0.95)),
      maxMs: Math.round(Math.max(...durations)),
      wallMs,
      workerPeakRssMb,
      peakSandboxesAlive: peakSandboxes,
      modelCalls: anthropic.answered.length,
      workerTuning,
      hostActivitySlots: hostWorkerTuning.maxConcurrentActivityTaskExecutions,
      cpus: os.cpus().length,
      target: { failed: 0, fixes: 100 },
      meetsTarget: failed.length === 0 && FIXES >= 100,
    });
    await prisma.project.delete({ where: { id: project.id } }).catch(() => undefined);
  } finally {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
    }
    const left = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`, `${SANDBOX_LABELS.host}=${hostId}`] } });
    await Promise.all(
      left.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    await temporal.connection.close().catch(() => undefined);
    await prisma.$disconnect();
    await anthropic.close();
    await github.close();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
