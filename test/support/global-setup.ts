/**
 * One real Temporal dev server (in memory, headless) for the whole test run. Sandboxes of test
 * workers (host ids `test-<run>-…`) die with that server's workflows, so the run sweeps its own
 * after it ends (a test that leaves a fix running must not leave a container behind), and before
 * it starts, test sandboxes older than any run (left by a run that was killed).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { SANDBOX_LABELS } from '../../src/sandbox/container.js';
import { PROJECT_ROOT } from '../../src/config.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';

let server: DevServer | undefined;

const RUN = randomUUID().slice(0, 8);
/** Longer than a whole run takes: a test sandbox this old belongs to no live run. */
const STALE_AFTER_S = 3600;

async function removeTestSandboxes(which: (host: string, createdS: number) => boolean): Promise<void> {
  const docker = new Docker();
  const all = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`] } });
  const doomed = all.filter((c) => which(c.Labels[SANDBOX_LABELS.host] ?? '', c.Created));
  await Promise.all(
    doomed.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

/**
 * The dev server runs in its own process group and is killed by our exit hook, which a SIGKILLed
 * run never reaches. Each run records "<vitest pid> <server pid>"; the next run kills the servers
 * of runs whose vitest is gone (checking the pid is still a temporal process, not a reused one).
 */
const SERVERS_DIR = path.join(PROJECT_ROOT, '.data', 'test-servers');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isTemporalServer(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start-dev');
  } catch {
    return false;
  }
}

function killOrphanedServers(): void {
  fs.mkdirSync(SERVERS_DIR, { recursive: true });
  for (const name of fs.readdirSync(SERVERS_DIR)) {
    const file = path.join(SERVERS_DIR, name);
    const [owner, serverPid] = fs.readFileSync(file, 'utf8').trim().split(' ').map(Number);
    if (owner && alive(owner)) continue;
    if (serverPid && isTemporalServer(serverPid)) process.kill(-serverPid, 'SIGKILL'); // its own process group
    fs.rmSync(file, { force: true });
  }
}

export async function setup(): Promise<void> {
  process.env.BUGFIX_TEST_RUN = RUN;
  killOrphanedServers();
  await removeTestSandboxes((host, created) => host.startsWith('test-') && created < Date.now() / 1000 - STALE_AFTER_S);
  server = await startDevServer();
  fs.writeFileSync(path.join(SERVERS_DIR, RUN), `${process.pid} ${server.pid}\n`);
  // Test files run in forked processes that inherit this environment.
  process.env.TEMPORAL_ADDRESS = server.address;
  // Test remotes are local bare repositories (the 'file' transport), which the product default
  // (https only) refuses; tests of that default pass it explicitly.
  process.env.GIT_ALLOW_PROTOCOL = 'file:https';
  // Every test client is 127.0.0.1, and the auth tests fail on purpose hundreds of times (every
  // admin route × missing/wrong/revoked token): the product's 20 per 5 minutes would stop them.
  // test/http/auth-failures.test.ts gives its app a small limit of its own.
  process.env.AUTH_FAILURE_LIMIT ??= '100000';
  // Notification and alert stand-ins listen on http://127.0.0.1, which the product refuses (https
  // and public addresses only, against SSRF); test/infra/outbound-http.test.ts passes its own policy.
  process.env.NOTIFY_ALLOW_HTTP = 'true';
  process.env.NOTIFY_ALLOW_NETWORKS = '127.0.0.1';
}

export async function teardown(): Promise<void> {
  await server?.stop();
  fs.rmSync(path.join(SERVERS_DIR, RUN), { force: true });
  await removeTestSandboxes((host) => host.startsWith(`test-${RUN}-`));
}
