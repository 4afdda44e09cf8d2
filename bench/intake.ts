/**
 * `npm run bench:intake`: throughput and latency of POST /api/bugs on loopback, with real
 * PostgreSQL and a real Temporal dev server (in memory). Every request is a valid report with its
 * own external id, so each one stores a bug and starts a workflow (no worker runs: starting is
 * what is measured). The machine's own limit is measured in the same run: bare workflow starts
 * per second (the intake's own start call, no HTTP, no database) on the same server with the same
 * client concurrency. Figures (issue #17):
 * - reqPerSec: requests answered and their workflows started, per second of the run plus the
 *   time the starts trailed the answers; ratio = reqPerSec / referenceStartsPerSec (target ≥ 0.8);
 * - p99AtSixtyPctMs: p99 latency with requests sent at 60 % of the reference rate (target ≤ 100).
 * Writes bench/results/intake.json. Settings: BENCH_SECONDS (default 10, at least 10 counts),
 * BENCH_CONNECTIONS (default 10).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type autocannon from 'autocannon';
import { loadConfig, PROJECT_ROOT } from '../src/config.js';
import { createPrisma } from '../src/db/prisma.js';
import { startHttpServer } from '../src/http/server.js';
import { FixDispatcher } from '../src/intake/fix-dispatcher.js';
import { issueIntakeKey, upsertProject } from '../src/projects/project-store.js';
import { connectClient } from '../src/temporal/connect.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { startFixWorkflow } from '../src/intake/start-fix.js';
import type { Client } from '@temporalio/client';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const TARGET = { ratio: 0.8, p99AtSixtyPctMs: 100 };

/** CPU time so far, ms: this process (HTTP server, dispatcher, reference clients) and another by pid (/proc). */
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function pidCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, clock ticks of 10 ms
}

/** CPU of this database's PostgreSQL backends (the pool's connections), ms, by backend pid. */
async function backendCpuMs(prisma: ReturnType<typeof createPrisma>): Promise<Map<number, number>> {
  const rows = await prisma.$queryRaw<Array<{ pid: number }>>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`;
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      cpu.set(pid, pidCpuMs(pid));
    } catch {
      // PostgreSQL on another host (or gone): not counted
    }
  }
  return cpu;
}
const spentSince = (before: Map<number, number>, after: Map<number, number>) => [...after].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);

/**
 * The reference: `concurrency` clients each starting one fix workflow after the other for
 * `seconds`, through the same call the intake's outbox makes.
 */
async function bareStarts(temporal: Client, project: { id: string; key: string }, seconds: number, concurrency: number, tag: string) {
  const until = Date.now() + seconds * 1000;
  const began = Date.now();
  let starts = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      for (let i = 0; Date.now() < until; i++) {
        const workflowId = `bench-reference-${tag}-${c}-${i}`;
        await startFixWorkflow(
          { temporal, temporalUiUrl: 'http://localhost:8233' },
          { bugId: randomUUID(), workflowId, priority: 'MEDIUM', title: 'Bench report', projectId: project.id, projectKey: project.key },
        );
        starts += 1;
      }
    }),
  );
  return { starts, startsPerSec: starts / ((Date.now() - began) / 1000) };
}

async function main(): Promise<void> {
  const temporalServer = await startDevServer();
  process.env.TEMPORAL_ADDRESS = temporalServer.address;
  const prisma = createPrisma(loadConfig().DATABASE_URL);
  const temporal = await connectClient();
  const deps = {
    prisma,
    temporal,
    temporalUiUrl: 'http://localhost:8233',
    log: { error: (o: unknown) => console.error(o), warn: (o: unknown) => console.error(o) },
    // One key sends everything here: lift its limit so the bench measures intake, not the limiter
    // (it still takes a token from PostgreSQL on every request).
    intake: { rateLimit: { perSecond: 1e9, burst: 1e9 }, hmacMaxSkewSeconds: 300, emailRoutes: [] },
  };
  const http = await startHttpServer(
    // Starts as concurrent as the reference's clients (INTAKE_START_CONCURRENCY, default 4, keeps
    // a burst's starts behind its answers).
    { ...deps, dispatcher: new FixDispatcher(deps, { concurrency: CONNECTIONS }) },
    '127.0.0.1',
    0,
  );
  const url = `${http.url}/api/bugs`;
  const suffix = Date.now().toString(36);
  const project = await upsertProject(prisma, { key: `bench-intake-${suffix}`, name: 'Bench intake', repoOwner: 'acme', repoName: 'bench' });
  const key = await issueIntakeKey(prisma, project.id);

  // The load comes from its own process (autocannon's CLI): in the server's event loop it would
  // take the CPU and the latency it is measuring.
  // overallRate: requests per second from all connections together (none: as fast as answered).
  const run = (duration: number, tag: string, overallRate?: number): Promise<autocannon.Result> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ title: 'Bench report', description: 'Load test of the intake.', priority: 'MEDIUM', externalId: `${tag}-[<id>]` });
      const child = spawn(
        path.join(PROJECT_ROOT, 'node_modules', '.bin', 'autocannon'),
        [
          '-c',
          String(CONNECTIONS),
          ...(overallRate ? ['-R', String(Math.round(overallRate))] : []),
          '-d',
          String(duration),
          '-m',
          'POST',
          '-j',
          '-H',
          'content-type=application/json',
          '-H',
          `authorization=Bearer ${key}`,
          // [<id>] is replaced by a unique id per request: every request files a new bug.
          '-I',
          '-b',
          body,
          url,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as autocannon.Result) : reject(new Error(`autocannon exited with ${code}`))));
    });
  /** A load run, then until its last workflow is started: what was answered, stored and started. */
  const measured = async (tag: string, overallRate?: number) => {
    const before = await prisma.bugReport.count({ where: { projectId: project.id } });
    const cpu = { own: ownCpuMs(), temporal: pidCpuMs(temporalServer.pid), postgres: await backendCpuMs(prisma) };
    const r = await run(SECONDS, tag, overallRate);
    const stored = (await prisma.bugReport.count({ where: { projectId: project.id } })) - before;
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${tag}: ${r.non2xx} non-2xx answers and ${r.errors} errors`);
    // Answered means stored; the outbox starts the workflows. Every one must have started, and how
    // long the starts trail the answers counts against the rate.
    const loadEnded = Date.now();
    await http.dispatcher.idle();
    const backlogMs = Date.now() - loadEnded;
    const notStarted = await prisma.bugReport.count({ where: { projectId: project.id, workflowStartedAt: null } });
    if (notStarted > 0) throw new Error(`${tag}: ${notStarted} reports not started`);
    // Where the time goes, per request: robust where throughput is not on a shared machine.
    const cpuPerRequest = {
      apiProcessMs: Number(((ownCpuMs() - cpu.own) / stored).toFixed(2)),
      temporalServerMs: Number(((pidCpuMs(temporalServer.pid) - cpu.temporal) / stored).toFixed(2)),
      postgresMs: Number((spentSince(cpu.postgres, await backendCpuMs(prisma)) / stored).toFixed(2)),
    };
    return { r, stored, backlogMs, startedPerSec: stored / (r.duration + backlogMs / 1000), cpuPerRequest };
  };
  try {
    await run(2, 'warm'); // JIT, connection pools, the task queue's first writes
    await http.dispatcher.idle();
    await bareStarts(temporal, project, 2, CONNECTIONS, `warm-${suffix}`);
    // The reference between warm-up and load: the same server, as loaded with workflows as the runs find it.
    const cpu = { own: ownCpuMs(), temporal: pidCpuMs(temporalServer.pid) };
    const reference = await bareStarts(temporal, project, SECONDS, CONNECTIONS, suffix);
    const referenceCpuPerStart = {
      clientMs: Number(((ownCpuMs() - cpu.own) / reference.starts).toFixed(2)),
      temporalServerMs: Number(((pidCpuMs(temporalServer.pid) - cpu.temporal) / reference.starts).toFixed(2)),
    };
    const full = await measured('run');
    const sixtyPct = 0.6 * reference.startsPerSec;
    const paced = await measured('paced', sixtyPct);
    const started = await temporal.workflow.count(`ProjectKey = '${project.key}'`);
    const reqPerSec = Math.min(full.r.requests.average, full.startedPerSec);
    const ratio = reqPerSec / reference.startsPerSec;
    const result = {
      reqPerSec: Math.round(reqPerSec),
      referenceStartsPerSec: Math.round(reference.startsPerSec),
      ratio: Number(ratio.toFixed(2)),
      p99Ms: full.r.latency.p99,
      p99AtSixtyPctMs: paced.r.latency.p99,
      details: {
        answeredPerSec: Math.round(full.r.requests.average),
        answeredAndStartedPerSec: Math.round(full.startedPerSec),
        startsTrailedAnswersByMs: full.backlogMs,
        p50Ms: full.r.latency.p50,
        requests: full.r.requests.total,
        bugsStored: full.stored,
        referenceStarts: reference.starts,
        sixtyPctRate: Math.round(sixtyPct),
        sixtyPctAnsweredPerSec: Math.round(paced.r.requests.average),
        sixtyPctP50Ms: paced.r.latency.p50,
        sixtyPctStartsTrailedByMs: paced.backlogMs,
        workflowsStartedIncludingWarmupAndReference: started.count,
        cpuPerRequest: full.cpuPerRequest,
        referenceCpuPerStart,
        loadAverageAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))),
        cpus: os.cpus().length,
      },
      connections: CONNECTIONS,
      seconds: SECONDS,
      target: TARGET,
      meetsTarget: ratio >= TARGET.ratio && paced.r.latency.p99 <= TARGET.p99AtSixtyPctMs,
    };
    const out = path.join(PROJECT_ROOT, 'bench', 'results', 'intake.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `intake ${result.reqPerSec} req/s answered and started vs ${result.referenceStartsPerSec} bare starts/s: ratio ${result.ratio} (target ≥ ${TARGET.ratio}); ` +
        `p99 ${result.p99Ms} ms at full load, ${result.p99AtSixtyPctMs} ms at 60 % (${result.details.sixtyPctRate} req/s; target ≤ ${TARGET.p99AtSixtyPctMs} ms)`,
    );
    console.log(`wrote ${path.relative(PROJECT_ROOT, out)}`);
  } finally {
    // Requests still in flight when the run ended must finish before their project goes away.
    await http.close();
    await prisma.project.delete({ where: { id: project.id } }).catch(() => undefined);
    await temporal.connection.close();
    await prisma.$disconnect();
    await temporalServer.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
