/**
 * `npm run chaos`: CHAOS_FIXES fixes (default 20) on the scripted model while a seeded driver
 * injects faults at random moments: SIGKILL of the worker (a supervisor starts a new one), a
 * restart of the Temporal dev server on the same database file, removal of a sandbox container,
 * a drop of the worker's PostgreSQL connections, GitHub 5xx and rate limits, slow model answers;
 * and the Anthropic stand-in fails ~30% of requests (429/529/500) throughout. Then it checks every
 * fix opened exactly one PR, the ledger equals the stand-in's own log of answered calls row for
 * row, and no sandbox is left. Writes bench/results/chaos.json; exits 1 when a target is missed.
 * Repeat a run with CHAOS_SEED=<the seed it printed>.
 */
import { SEED } from './chaos-env.js';
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
import { freePort, startDevServer, type DevServer } from '../src/temporal/dev-server.js';
import { createFixtureProject } from '../dev/fixture-remotes.js';
import { paginationScenario } from '../dev/scenarios/pagination.js';
import { seeded, startAnthropicStandIn } from '../dev/stand-ins/anthropic-api.js';
import { startGitHubStandIn } from '../dev/stand-ins/github-api.js';
import { runMain, writeResult } from './support.js';
import { spawnWorkerProcess } from './worker-process.js';

const FIXES = Number(process.env.CHAOS_FIXES ?? 20);
const DEADLINE_MS = Number(process.env.CHAOS_DEADLINE_S ?? 900) * 1000;
const TOKEN = 'ghs_chaos0123456789abcdefghijklmnopqrstu';
const WORKER_APP = 'bugfix-chaos-worker';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withAppName(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('application_name', name);
  return url.toString();
}

async function main(): Promise<void> {
  console.log(`chaos seed ${SEED} (repeat this run with CHAOS_SEED=${SEED})`);
  const rnd = seeded(SEED);
  const config = loadConfig();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-chaos-'));
  const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  const t0 = Date.now();
  const docker = new Docker();
  const hostId = process.env.BUGFIX_HOST_ID!;

  // Temporal on a fixed port and database file, so a restart is the same server to its clients.
  const port = await freePort();
  const dbFile = path.join(tmp, 'temporal.db');
  const serverOpts = { port, dbFile, logFile: path.join(tmp, 'temporal.log') };
  let server: DevServer = await startDevServer(serverOpts);
  process.env.TEMPORAL_ADDRESS = server.address;

  const anthropic = await startAnthropicStandIn(paginationScenario);
  const github = await startGitHubStandIn({ token: TOKEN });
  const prisma = createPrisma(config.DATABASE_URL);
  const temporal = await connectClient();
  const suffix = `${SEED}-${Date.now().toString(36)}`;
  const { project } = await createFixtureProject(prisma, github, { key: `chaos-${suffix}`, repo: `chaos-${suffix}`, dir: tmp });

  // A supervisor like systemd's: whenever the worker is gone, a new one starts.
  let worker: ChildProcess | undefined;
  let workerNo = 0;
  let unexpectedExits = 0;
  let supervising = true;
  const startWorker = () => {
    workerNo += 1;
    const child = spawnWorkerProcess({ anthropic: anthropic.url, github: github.url, githubToken: TOKEN }, path.join(tmp, `worker-${workerNo}.log`), {
      DATABASE_URL: withAppName(config.DATABASE_URL, WORKER_APP),
    });
    child.once('exit', (code, signal) => {
      if (worker === child) worker = undefined;
      if (signal !== 'SIGKILL' && supervising) {
        unexpectedExits += 1;
        log(`worker ${workerNo} exited on its own (${code ?? signal}); see ${tmp}/worker-${workerNo}.log`);
      }
      if (supervising)
        setTimeout(
          () => {
            if (!worker && supervising) worker = startWorker();
          },
          300 + rnd() * 1200,
        );
    });
    return child;
  };
  worker = startWorker();

  const filed = await Promise.all(
    Array.from({ length: FIXES }, (_, i) =>
      fileBug({ prisma, temporal, temporalUiUrl: config.TEMPORAL_UI_URL }, project, {
        title: `Chaos ${i}: page 2 repeats the last item of page 1`,
        description: 'Pagination off by one.',
        priority: 'MEDIUM',
        source: 'chaos',
        externalId: `chaos-${i}`,
      }),
    ),
  );
  const ids = filed.map((f) => f.workflowId);
  log(`${FIXES} fixes filed; faults begin`);
  anthropic.failRandomly({ rate: 0.3, statuses: [429, 500, 529], seed: SEED });

  const faults = { workerKills: 0, temporalRestarts: 0, containersRemoved: 0, pgDrops: 0, githubFaults: 0, slowModel: 0 };
  const stillRunning = async (): Promise<number> => {
    try {
      return (await temporal.workflow.count(`BugId IS NOT NULL AND ProjectKey = '${project.key}' AND ExecutionStatus = 'Running'`)).count;
    } catch {
      return -1; // Temporal is restarting
    }
  };

  const deadline = t0 + DEADLINE_MS;
  let running = FIXES;
  while (Date.now() < deadline) {
    await sleep(2000 + rnd() * 3000);
    running = await stillRunning();
    if (running === 0) break;
    const pick = rnd();
    if (pick < 0.25) {
      if (worker) {
        faults.workerKills += 1;
        log(`fault: SIGKILL worker ${workerNo}`);
        worker.kill('SIGKILL');
      }
    } else if (pick < 0.4) {
      faults.temporalRestarts += 1;
      log('fault: restarting the Temporal dev server (same database file)');
      await server.stop();
      await sleep(rnd() * 2000);
      server = await startDevServer(serverOpts);
    } else if (pick < 0.6) {
      const boxes = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`, `${SANDBOX_LABELS.host}=${hostId}`] } });
      if (boxes.length > 0) {
        const victim = boxes[Math.floor(rnd() * boxes.length)]!;
        faults.containersRemoved += 1;
        log(`fault: removing sandbox ${victim.Names[0]}`);
        await docker
          .getContainer(victim.Id)
          .remove({ force: true })
          .catch(() => undefined);
      }
    } else if (pick < 0.75) {
      const dropped = await prisma.$queryRaw<Array<{ n: bigint }>>`
        SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = ${WORKER_APP}`;
      faults.pgDrops += 1;
      log(`fault: dropped ${dropped[0]?.n ?? 0} PostgreSQL connections of the worker`);
    } else if (pick < 0.9) {
      faults.githubFaults += 1;
      if (rnd() < 0.5) {
        log('fault: GitHub answers 502 to the next PR call');
        github.fault({ pathPart: '/pulls', status: 502 });
      } else {
        log('fault: GitHub secondary rate limit on the next call');
        github.fault({ pathPart: '/repos/', status: 403, retryAfterSeconds: 1, message: 'You have exceeded a secondary rate limit' });
      }
    } else {
      faults.slowModel += 1;
      log('fault: the model answers slowly (3 s) for a while');
      anthropic.setDelay(3000);
      setTimeout(() => anthropic.setDelay(0), 5000 + rnd() * 5000);
    }
  }
  anthropic.failRandomly(null);
  log(running === 0 ? 'every fix has closed; checking' : `deadline reached with ${running} fixes running; checking`);

  // Outcomes: every fix must have closed with a PR.
  const outcomes = await Promise.all(
    ids.map((id) =>
      temporal
        .withDeadline(Date.now() + 60_000, () => temporal.workflow.getHandle(id).result() as Promise<FixOutcome>)
        .catch((err: unknown) => ({ status: `error: ${String(err)}` }) as unknown as FixOutcome),
    ),
  );
  const completed = outcomes.filter((o) => o.status === 'pr_created').length;
  for (const [i, o] of outcomes.entries()) if (o.status !== 'pr_created') log(`fix ${ids[i]}: ${o.status} ${o.reason ?? ''}`);

  // One PR per fix branch.
  const pulls = github.pulls('acme', project.repoName);
  const perHead = new Map<string, number>();
  for (const p of pulls) perHead.set(p.head, (perHead.get(p.head) ?? 0) + 1);
  const duplicatePRs = [...perHead.values()].reduce((n, c) => n + c - 1, 0);

  // The ledger against the provider's own record, row by row (its request ids).
  // A call answered while its worker died (before the commit) cannot carry the provider's request
  // id; it must be covered by a `lost` row (estimated cost) instead of missing from the ledger.
  const rows = await prisma.ledgerEntry.findMany({ where: { workflowId: { in: ids } }, select: { providerRequestId: true, kind: true } });
  const ledger = rows.filter((l) => l.kind === 'answered');
  const lostCalls = rows.filter((l) => l.kind === 'lost').length;
  const pendingLeft = rows.filter((l) => l.kind === 'pending').length;
  const billed = new Set(ledger.map((l) => l.providerRequestId));
  const answered = new Set(anthropic.answered.map((a) => a.requestId));
  const unbilled = anthropic.answered.filter((a) => !billed.has(a.requestId));
  const ledgerMismatches =
    [...billed].filter((r) => !answered.has(r!)).length + Math.max(0, unbilled.length - lostCalls) + (ledger.length - billed.size) + pendingLeft;
  for (const a of unbilled) log(`answered but not in the ledger: ${a.requestId} (turn ${a.turn}) answered at ${((a.at - t0) / 1000).toFixed(1)} s`);

  // Sandboxes: a closed fix removes its own; give the last cleanups a moment.
  supervising = false;
  if (worker) {
    const w = worker;
    const exited = new Promise((r) => w.once('exit', r));
    w.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
  }
  const orphans = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`, `${SANDBOX_LABELS.host}=${hostId}`] } });

  const result = {
    seed: SEED,
    fixes: FIXES,
    completed,
    duplicatePRs,
    ledgerMismatches,
    orphanContainers: orphans.length,
    pullRequests: pulls.length,
    modelRequests: anthropic.received.length,
    modelAnswered: anthropic.answered.length,
    ledgerRows: ledger.length,
    answeredButUncommitted: unbilled.length,
    lostCallRows: lostCalls,
    faults,
    unexpectedWorkerExits: unexpectedExits,
    workersStarted: workerNo,
    durationMs: Date.now() - t0,
    target: { completed: FIXES, duplicatePRs: 0, ledgerMismatches: 0, orphanContainers: 0 },
    meetsTarget: completed === FIXES && duplicatePRs === 0 && ledgerMismatches === 0 && orphans.length === 0,
  };
  writeResult('chaos', result);

  for (const c of orphans)
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  await prisma.project.delete({ where: { id: project.id } }).catch(() => undefined);
  await temporal.connection.close().catch(() => undefined);
  await prisma.$disconnect();
  await anthropic.close();
  await github.close();
  await server.stop();
  if (result.meetsTarget) fs.rmSync(tmp, { recursive: true, force: true });
  else {
    console.error(`chaos: targets missed (seed ${SEED}); logs kept in ${tmp}`);
    process.exitCode = 1;
  }
}

runMain(main);
