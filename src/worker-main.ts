/**
 * A worker process on its own (`npm run worker`): polls the shared task queue and this host's
 * queue until SIGINT/SIGTERM, then drains. Configuration from the environment (src/config.ts,
 * temporal.config.ts); run several on different hosts to scale out.
 */
import { loadConfig } from './config.js';
import { stopOnSignals } from './infra/stop-on-signals.js';
import { createPrisma } from './db/prisma.js';
import { connectClient, connectWorker, untilConnected } from './temporal/connect.js';
import { ensureReaperSchedule } from './temporal/reaper-schedule.js';
import { ensureAlertSchedule } from './temporal/alert-schedule.js';
import { taskQueues } from '../temporal.config.js';
import { activityDepsFromConfig, startWorkers } from './worker.js';
import { describeIsolation, engineIsolation, sandboxSecurity } from './sandbox/security-profile.js';

const config = loadConfig();
const prisma = createPrisma(config.DATABASE_URL);
const retrying = (msg: string) => console.warn(`[worker] ${msg}`);
const { connection, namespace } = await untilConnected(connectWorker, retrying);
// The sandbox reaper asks Temporal whether a sandbox's workflow is still open.
const client = await untilConnected(connectClient, retrying);
const deps = { ...activityDepsFromConfig(config, prisma), temporal: client };
// Kernel isolation of the sandboxes, checked before taking work: a bad seccomp profile or a runtime
// the engine does not know would otherwise fail every fix at its first container.
sandboxSecurity();
const isolation = await engineIsolation(deps.docker);
if (!isolation.runtimeKnown)
  throw new Error(`SANDBOX_RUNTIME=${config.SANDBOX_RUNTIME}: the Docker engine has no such runtime (register it in daemon.json "runtimes")`);
console.log(`[worker] sandbox isolation: ${describeIsolation(isolation)}`);
// A host that comes back removes the sandboxes of fixes that ended meanwhile at once, not at its reaper's next run.
const workers = await startWorkers({ connection, namespace, deps, sweepAtStart: true });
void workers.swept?.then((r) =>
  console.log(
    r instanceof Error
      ? `[worker] startup sweep failed: ${r.message}`
      : `[worker] startup sweep: removed ${r.removed.length} of ${r.checked} sandboxes on this host`,
  ),
);
await ensureReaperSchedule(client, { hostId: deps.host.id, hostQueue: deps.host.queue, taskQueue: taskQueues.main });
// Budgets and alert rules, once per deployment whichever worker starts first.
await ensureAlertSchedule(client, { taskQueue: taskQueues.main, everySeconds: deps.config.alerts.evaluateEverySeconds });
console.log(`[worker] polling (namespace ${namespace}, host queue ${deps.host.queue})`);

stopOnSignals(
  (line) => console.log(`[worker] ${line}`),
  () => workers.shutdown().then(() => Promise.all([prisma.$disconnect(), connection.close(), client.connection.close()])),
);
await workers.run;
