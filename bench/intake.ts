/**
 * `npm run bench:intake`: throughput and latency of POST /api/bugs on loopback, with real
 * PostgreSQL and a real Temporal dev server (in memory). Every request is a valid report with its
 * own external id, so each one stores a bug and starts a workflow (no worker runs: starting is
 * what is measured). Writes bench/results/intake.json.
 * Settings: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 10).
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type autocannon from 'autocannon';
import { loadConfig, PROJECT_ROOT } from '../src/config.js';
import { createPrisma } from '../src/db/prisma.js';
import { startHttpServer } from '../src/http/server.js';
import { issueIntakeKey, upsertProject } from '../src/projects/project-store.js';
import { connectClient } from '../src/temporal/connect.js';
import { startDevServer } from '../src/temporal/dev-server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const TARGET = { reqPerSec: 300, p99Ms: 100 };

async function main(): Promise<void> {
  const temporalServer = await startDevServer();
  process.env.TEMPORAL_ADDRESS = temporalServer.address;
  const prisma = createPrisma(loadConfig().DATABASE_URL);
  const temporal = await connectClient();
  const http = await startHttpServer(
    {
      prisma,
      temporal,
      temporalUiUrl: 'http://localhost:8233',
      log: { error: (o) => console.error(o), warn: (o) => console.error(o) },
      // One key sends everything here: lift its limit so the bench measures intake, not the limiter.
      intake: { rateLimit: { perSecond: 1e9, burst: 1e9 }, hmacMaxSkewSeconds: 300, emailRoutes: [] },
    },
    '127.0.0.1',
    0,
  );
  const url = `${http.url}/api/bugs`;
  const suffix = Date.now().toString(36);
  const project = await upsertProject(prisma, { key: `bench-intake-${suffix}`, name: 'Bench intake', repoOwner: 'acme', repoName: 'bench' });
  const key = await issueIntakeKey(prisma, project.id);

  // The load comes from its own process (autocannon's CLI): in the server's event loop it would
  // take the CPU and the latency it is measuring.
  const run = (duration: number, tag: string): Promise<autocannon.Result> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ title: 'Bench report', description: 'Load test of the intake.', priority: 'MEDIUM', externalId: `${tag}-[<id>]` });
      const child = spawn(
        path.join(PROJECT_ROOT, 'node_modules', '.bin', 'autocannon'),
        [
          '-c',
          String(CONNECTIONS),
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
  try {
    await run(2, 'warm'); // JIT, connection pools, the task queue's first writes
    const before = await prisma.bugReport.count({ where: { projectId: project.id } });
    const r = await run(SECONDS, 'run');
    const stored = (await prisma.bugReport.count({ where: { projectId: project.id } })) - before;
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx answers and ${r.errors} errors`);
    // Answered means stored; the outbox starts the workflows. Every one must have started, and how
    // long the starts trail the answers is part of the figure.
    const loadEnded = Date.now();
    await http.dispatcher.idle();
    const backlogMs = Date.now() - loadEnded;
    const notStarted = await prisma.bugReport.count({ where: { projectId: project.id, workflowStartedAt: null } });
    const started = await temporal.workflow.count(`ProjectKey = '${project.key}'`);
    if (notStarted > 0 || started.count < stored) throw new Error(`${notStarted} reports not started; ${started.count} workflows for ${stored} reports`);
    const result = {
      reqPerSec: Math.round(r.requests.average),
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      requests: r.requests.total,
      bugsStored: stored,
      workflowsStartedIncludingWarmup: started.count,
      startsTrailedAnswersByMs: backlogMs,
      connections: CONNECTIONS,
      seconds: SECONDS,
      target: TARGET,
      meetsTarget: r.requests.average >= TARGET.reqPerSec && r.latency.p99 <= TARGET.p99Ms,
    };
    const out = path.join(PROJECT_ROOT, 'bench', 'results', 'intake.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
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
