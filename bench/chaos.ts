/**
 * `npm run chaos`: CHAOS_FIXES fixes (default 20) on the scripted model, over two worker hosts
 * each with its own Docker engine (bench/chaos-hosts.ts), while a seeded driver injects faults at
 * random moments: SIGKILL of a host's worker (a supervisor starts a new one), loss of a whole host
 * (worker SIGKILLed, engine killed or stopped; it comes back 20-60 s later), a restart of the
 * Temporal dev server on the same database file, removal of a sandbox container, a drop of the
 * workers' PostgreSQL connections, GitHub 5xx and rate limits, slow model answers; and the
 * Anthropic stand-in fails ~30% of requests (429/529/500) throughout. Then it checks every fix
 * opened exactly one PR, every call the stand-in answered is covered by exactly one ledger row
 * (bench/ledger-match.ts), and no sandbox is left on any engine once every host is back.
 * Writes bench/results/chaos.json; exits 1 when a target is missed. Repeat a run with
 * CHAOS_SEED=<the seed it printed>.
 */
import { SEED } from './chaos-env.js';
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
import { startChaosHosts } from './chaos-hosts.js';
import { matchLedger } from './ledger-match.js';

const FIXES = Number(process.env.CHAOS_FIXES ?? 20);
const DEADLINE_MS = Number(process.env.CHAOS_DEADLINE_S ?? 1500) * 1000;
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

  // Two worker hosts, each on its own Docker engine, supervised (bench/chaos-hosts.ts).
  const hosts = await startChaosHosts({
    names: ['a', 'b'],
    seed: SEED,
    image: config.SANDBOX_IMAGE,
    dir: tmp,
    env: {
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: 'stand-in-key',
      GITHUB_API_URL: github.url,
      GITHUB_TOKEN: TOKEN,
      DATABASE_URL: withAppName(config.DATABASE_URL, WORKER_APP),
    },
    rnd,
    log,
  });
  const sandboxesOn = (engines: Docker[]) =>
    Promise.all(
      engines.map((d) =>
        d
          .listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`, `${SANDBOX_LABELS.project}=${project.key}`] } })
          .then((l) => l.map((c) => ({ docker: d, c })))
          .catch(() => []),
      ),
    ).then((l) => l.flat());

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

  const faults = { workerKills: 0, hostLosses: 0, temporalRestarts: 0, containersRemoved: 0, pgDrops: 0, githubFaults: 0, slowModel: 0 };
  const stillRunning = async (): Promise<number> => {
    try {
      return (await temporal.workflow.count(`BugId IS NOT NULL AND ProjectKey = '${project.key}' AND ExecutionStatus = 'Running'`)).count;
    } catch {
      return -1; // Temporal is restarting
    }
  };

  const deadline = t0 + DEADLINE_MS;
  // Every run loses a host at least once, early enough that fixes are mid-way on it.
  const firstLossAt = Date.now() + 10_000 + rnd() * 30_000;
  let running = FIXES;
  while (Date.now() < deadline) {
    await sleep(2000 + rnd() * 3000);
    running = await stillRunning();
    if (running === 0) break;
    const pick = faults.hostLosses === 0 && Date.now() >= firstLossAt ? 0.25 : rnd();
    if (pick < 0.2) {
      const host = await hosts.killWorker();
      if (host) {
        faults.workerKills += 1;
        log(`fault: SIGKILL the worker of host ${host}`);
      }
    } else if (pick < 0.27) {
      const lost = await hosts.loseHost(20_000 + rnd() * 40_000);
      if (lost) {
        faults.hostLosses += 1;
        log(`fault: host ${lost} lost`);
      }
    } else if (pick < 0.4) {
      faults.temporalRestarts += 1;
      log('fault: restarting the Temporal dev server (same database file)');
      await server.stop();
      await sleep(rnd() * 2000);
      server = await startDevServer(serverOpts);
    } else if (pick < 0.6) {
      const boxes = await sandboxesOn(hosts.liveEngines());
      if (boxes.length > 0) {
        const victim = boxes[Math.floor(rnd() * boxes.length)]!;
        faults.containersRemoved += 1;
        log(`fault: removing sandbox ${victim.c.Names[0]} (host ${victim.c.Labels[SANDBOX_LABELS.host]})`);
        await victim.docker
          .getContainer(victim.c.Id)
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

  // The ledger against the provider's own record, one to one (bench/ledger-match.ts).
  const rows = await prisma.ledgerEntry.findMany({ where: { workflowId: { in: ids } }, select: { providerRequestId: true, kind: true, callKey: true } });
  const ledger = matchLedger(anthropic.answered, rows);
  for (const a of ledger.unbilled)
    log(`answered but in no ledger row: ${a.requestId} (${a.callKey ?? 'no call key'}) at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const r of ledger.phantomRows) log(`ledger row with no answered call of its own: ${r.callKey} (${r.providerRequestId ?? 'no request id'})`);

  // Sandboxes: every host back and swept, the workers drained, then nothing may be left on any engine.
  await hosts.settle();
  const orphans = await sandboxesOn([new Docker(), ...hosts.hosts.map((h) => h.engine.docker)]);
  for (const o of orphans) log(`left behind: ${o.c.Names[0]} on host ${o.c.Labels[SANDBOX_LABELS.host]} (${o.c.State})`);

  const result = {
    seed: SEED,
    fixes: FIXES,
    completed,
    duplicatePRs,
    ledgerMismatches: ledger.mismatches,
    orphanContainers: orphans.length,
    pullRequests: pulls.length,
    modelRequests: anthropic.received.length,
    modelAnswered: anthropic.answered.length,
    ledgerRows: rows.length,
    answeredButUncommitted: ledger.coveredByLost + ledger.unbilled.length,
    coveredByLostRows: ledger.coveredByLost,
    lostRowsNeverAnswered: ledger.unansweredLost,
    faults,
    unexpectedWorkerExits: hosts.unexpectedExits,
    workersStarted: Object.fromEntries(hosts.hosts.map((h) => [h.name, h.workersStarted])),
    durationMs: Date.now() - t0,
    target: { completed: FIXES, duplicatePRs: 0, ledgerMismatches: 0, orphanContainers: 0 },
    meetsTarget: completed === FIXES && duplicatePRs === 0 && ledger.mismatches === 0 && orphans.length === 0,
  };
  writeResult('chaos', result);

  for (const o of orphans)
    await o.docker
      .getContainer(o.c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  await hosts.stopEngines();
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
