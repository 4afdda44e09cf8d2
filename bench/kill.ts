/**
 * `npm run bench:kill`: the big red button under load. 50 fixes run mid-iteration (the scripted
 * model answers slowly) spread over BENCH_HOSTS worker hosts (default 2: this process's worker on
 * the default Docker engine, and a worker process on a second engine, dev/docker-engine.ts), the
 * global kill switch is activated, and the clock runs until no fix is running, the model stand-in
 * receives no further request and no sandbox container remains on any engine. In the same run,
 * the reference: killing and removing as many idle containers (spread the same way) in parallel
 * through the same Docker API. Repeated BENCH_RUNS times (default 5); writes bench/results/kill.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import Docker from 'dockerode';
import { SANDBOX_LABELS } from '../src/sandbox/container.js';
import { fileBug } from '../src/intake/file-bug.js';
import { activateKillSwitch, deactivateKillSwitch } from '../src/safety/kill-switch-client.js';
import { startStack } from '../dev/local-stack.js';
import { taskQueues } from '../temporal.config.js';
import { safetyControllerId } from '../src/domain/organisation/kill-switch.js';
import { createFixtureProject } from '../dev/fixture-remotes.js';
import type { ModelScript } from '../dev/stand-ins/anthropic-api.js';
import { startDockerEngine, type DockerEngine } from '../dev/docker-engine.js';
import { startWorkerHost, type WorkerHost } from '../dev/worker-host.js';
import { cpuByCommand, quantile, round2, runMain, cpuSpent, writeResult } from './support.js';

const FIXES = Number(process.env.BENCH_FIXES ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const HOSTS = Number(process.env.BENCH_HOSTS ?? 2);
const REFERENCE_LABEL = 'bugfix.bench-kill-reference';
const MODEL_DELAY_MS = 1500;
const wandering: ModelScript = () => [{ type: 'tool_use', name: 'list_files', input: {} }];

/** BENCH_PROFILE=<dir>: a CPU profile of this process (its worker included) while each switch takes effect. */
const PROFILE_DIR = process.env.BENCH_PROFILE;

async function startProfile() {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = await session.post('Profiler.stop');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** BENCH_TRACE=1: the controller's and one fix's history events after the press, in ms from it. */
async function traceHistories(stack: Awaited<ReturnType<typeof startStack>>, pressedAt: number, fixId: string): Promise<void> {
  for (const id of [safetyControllerId(taskQueues.main), fixId]) {
    const history = await stack.temporal.workflow.getHandle(id).fetchHistory();
    const events = (history.events ?? [])
      .map((e) => ({
        at: Number(e.eventTime!.seconds) * 1000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6) - pressedAt,
        type: Object.keys(e).find((k) => k.endsWith('Attributes')),
      }))
      .filter((e) => e.at >= 0);
    console.log(`trace ${id}: ${events.map((e) => `${e.at} ${e.type?.replace(/EventAttributes$/, '')}`).join(' | ')}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bare reference: `count` idle containers of the sandbox image, spread over the engines, killed and removed in parallel. */
async function referenceKill(engines: Docker[], image: string, count: number): Promise<{ ms: number; cpu: ReturnType<typeof cpuSpent> }> {
  const created = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const docker = engines[i % engines.length]!;
      const c = await docker.createContainer({
        Image: image,
        Cmd: ['sleep', 'infinity'],
        Labels: { [REFERENCE_LABEL]: 'true' },
        HostConfig: { NetworkMode: 'none', Init: true },
      });
      await c.start();
      return c;
    }),
  );
  const cpuBefore = cpuByCommand();
  const started = performance.now();
  await Promise.all(created.map((c) => c.remove({ force: true })));
  return { ms: performance.now() - started, cpu: cpuSpent(cpuBefore, cpuByCommand()) };
}

/** Records when the model was last asked or last answering: the switch stops spending once neither happens again. */
function watchSpend(anthropic: { received: unknown[]; inFlight(): number }, from: number) {
  let seen = anthropic.received.length;
  let last = from;
  const timer = setInterval(() => {
    if (anthropic.inFlight() > 0 || anthropic.received.length !== seen) last = performance.now();
    seen = anthropic.received.length;
  }, 5);
  return () => {
    clearInterval(timer);
    return last - from;
  };
}

async function main(): Promise<void> {
  const stack = await startStack({ script: wandering, temporal: 'ephemeral', httpPort: 0 });
  const docker = new Docker();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-bench-kill-'));
  const times: number[] = [];
  const references: number[] = [];
  const spendStops: number[] = [];
  const spread: Array<Record<string, number>> = [];
  const phases: Array<Record<string, number>> = [];
  // CPU of the whole machine while the switch took effect, and while the reference removed its containers.
  const cpu: Array<ReturnType<typeof cpuSpent>> = [];
  const referenceCpu: Array<ReturnType<typeof cpuSpent>> = [];
  const engines: DockerEngine[] = [];
  const workers: WorkerHost[] = [];
  try {
    const image = stack.config.SANDBOX_IMAGE;
    // Host 1 is this process's worker; each further host gets its own engine and worker process.
    for (let h = 2; h <= HOSTS; h++) {
      const engine = await startDockerEngine({ name: `bench-kill-${h}`, images: [image], log: console.log });
      engines.push(engine);
      workers.push(
        await startWorkerHost({
          hostId: `bench-kill-${process.pid}-${h}`,
          dockerHost: engine.dockerHost,
          logFile: path.join(tmp, `worker-${h}.log`),
          env: { ANTHROPIC_BASE_URL: stack.anthropic!.url, ANTHROPIC_API_KEY: 'stand-in-key', GITHUB_API_URL: stack.github!.url },
        }),
      );
    }
    const allEngines = [docker, ...engines.map((e) => e.docker)];
    stack.anthropic!.setDelay(MODEL_DELAY_MS);
    const { project } = await createFixtureProject(stack.prisma, stack.github, {
      key: `kill-${Date.now().toString(36)}`,
      repo: 'kill',
      dir: tmp,
      validation: {},
    });
    const running = async () => (await stack.temporal.workflow.count(`WorkflowType = 'bugFixWorkflow' AND ExecutionStatus = 'Running'`)).count;
    const sandboxesByHost = async () => {
      const lists = await Promise.all(
        allEngines.map((d) =>
          d.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`, `${SANDBOX_LABELS.project}=${project.key}`] } }),
        ),
      );
      const byHost: Record<string, number> = {};
      for (const c of lists.flat()) byHost[c.Labels[SANDBOX_LABELS.host] ?? '?'] = (byHost[c.Labels[SANDBOX_LABELS.host] ?? '?'] ?? 0) + 1;
      return byHost;
    };
    const sandboxes = async () => Object.values(await sandboxesByHost()).reduce((a, b) => a + b, 0);

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
      spread.push(await sandboxesByHost());
      const profiler = PROFILE_DIR ? await startProfile() : undefined;
      const cpuBefore = cpuByCommand();
      const pressedAt = Date.now();
      const started = performance.now();
      const spendStopped = watchSpend(stack.anthropic!, started);
      const activated = activateKillSwitch(stack, taskQueues.main, { scope: 'global', reason: `bench run ${run}`, actor: 'bench' }).then(
        () => performance.now() - started,
      );
      // Where the time goes: the controller's fan-out answered, no sandbox left, no fix running.
      let noSandboxMs: number | undefined;
      let noneRunningMs: number | undefined;
      // Each side is polled until it first reads 0 (polling costs CPU the switch competes for);
      // both are read again after the quiet period below.
      while (noSandboxMs === undefined || noneRunningMs === undefined) {
        const [r, s] = await Promise.all([noneRunningMs === undefined ? running() : 0, noSandboxMs === undefined ? sandboxes() : 0]);
        const at = performance.now() - started;
        if (s === 0) noSandboxMs ??= at;
        if (r === 0) noneRunningMs ??= at;
        if (noSandboxMs === undefined || noneRunningMs === undefined) await sleep(50);
      }
      const requestsAtStop = stack.anthropic!.received.length;
      const elapsed = performance.now() - started;
      cpu.push(cpuSpent(cpuBefore, cpuByCommand()));
      if (profiler) await profiler.stop(path.join(PROFILE_DIR!, `kill-run-${run}.cpuprofile`));
      // When each fix's outcome was recorded (its close under way): spread out, or all late?
      const recorded = (await stack.prisma.bugReport.findMany({ where: { workflowId: { in: filed.map((f) => f.workflowId) } }, select: { completedAt: true } }))
        .map((b) => (b.completedAt?.getTime() ?? Number.NaN) - pressedAt)
        .filter((ms) => ms >= 0);
      if (process.env.BENCH_TRACE) await traceHistories(stack, pressedAt, filed[0]!.workflowId);
      phases.push({
        fanOutAnsweredMs: Math.round(await activated),
        firstRecordedMs: Math.round(Math.min(...recorded)),
        halfRecordedMs: Math.round(quantile(recorded, 0.5)),
        allRecordedMs: Math.round(Math.max(...recorded)),
        noSandboxMs: Math.round(noSandboxMs!),
        noneRunningMs: Math.round(noneRunningMs!),
      });
      await sleep(2000);
      const spendStopMs = spendStopped();
      const lateRequests = stack.anthropic!.received.length - requestsAtStop;
      times.push(elapsed);
      spendStops.push(spendStopMs);
      // The same number of containers, spread over the same engines, killed and removed bare.
      const { ms: reference, cpu: bareCpu } = await referenceKill(allEngines, image, FIXES);
      references.push(reference);
      referenceCpu.push(bareCpu);
      console.log(
        `run ${run}: ${FIXES} fixes on ${JSON.stringify(spread.at(-1))} stopped and cleaned up in ${elapsed.toFixed(0)} ms (${JSON.stringify(phases.at(-1))}; spending stopped after ${spendStopMs.toFixed(0)} ms; bare kill+remove ${reference.toFixed(0)} ms); model requests after the stop: ${lateRequests}; CPU ms ${JSON.stringify(cpu.at(-1))}, reference ${JSON.stringify(referenceCpu.at(-1))}`,
      );
      if (lateRequests > 0) throw new Error(`the model stand-in received ${lateRequests} requests after every fix had stopped`);
      const [runningLate, sandboxesLate] = await Promise.all([running(), sandboxes()]);
      if (runningLate + sandboxesLate > 0) throw new Error(`after the stop: ${runningLate} fixes running again, ${sandboxesLate} sandboxes back`);
      await deactivateKillSwitch(stack, taskQueues.main, { scope: 'global', reason: 'next run', actor: 'bench' });
    }
  } finally {
    for (const w of workers) await w.stop();
    await stack.stop();
    for (const d of [docker, ...engines.map((e) => e.docker)])
      for (const c of await d.listContainers({ all: true, filters: { label: [REFERENCE_LABEL] } }).catch(() => []))
        await d.getContainer(c.Id).remove({ force: true });
    for (const e of engines) await e.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const p95Ms = quantile(times, 0.95);
  const referenceP95Ms = quantile(references, 0.95);
  writeResult('kill', {
    fixes: FIXES,
    runs: times.length,
    hosts: HOSTS,
    spread,
    phases,
    cpuMs: cpu,
    referenceCpuMs: referenceCpu,
    // What the machine can do at best: the window's CPU spread over every core, beside the bare removal's.
    cpuTotals: {
      windowCpuP50Ms: Math.round(
        quantile(
          cpu.map((c) => c.totalMs),
          0.5,
        ),
      ),
      referenceCpuP50Ms: Math.round(
        quantile(
          referenceCpu.map((c) => c.totalMs),
          0.5,
        ),
      ),
      floorP50Ms: Math.round(
        quantile(
          cpu.map((c) => c.totalMs),
          0.5,
        ) / os.cpus().length,
      ),
      cpuBeyondReferencePerFixMs: Math.round(
        quantile(
          cpu.map((c, i) => (c.totalMs - referenceCpu[i]!.totalMs) / FIXES),
          0.5,
        ),
      ),
    },
    p50Ms: Math.round(quantile(times, 0.5)),
    p95Ms: Math.round(p95Ms),
    maxMs: Math.round(Math.max(...times)),
    referenceP95Ms: Math.round(referenceP95Ms),
    ratio: round2(p95Ms / referenceP95Ms),
    targetRatio: 1.3,
    spendStopP95Ms: Math.round(quantile(spendStops, 0.95)),
    targetSpendStopP95Ms: 500,
    cpus: os.cpus().length,
  });
}

runMain(main);
