/**
 * One real Temporal dev server (in memory, headless) for the whole test run. Sandboxes of test
 * workers (host ids `test-<run>-…`) die with that server's workflows, so the run sweeps its own
 * after it ends (a test that leaves a fix running must not leave a container behind), and before
 * it starts, test sandboxes older than any run (left by a run that was killed).
 */
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { SANDBOX_LABELS } from '../../activities/sandbox.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';

let server: DevServer | undefined;

const RUN = randomUUID().slice(0, 8);
/** Longer than a whole run takes: a test sandbox this old belongs to no live run. */
const STALE_AFTER_S = 3600;

async function removeTestSandboxes(which: (host: string, createdS: number) => boolean): Promise<void> {
  const docker = new Docker();
  const all = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`] } });
  const doomed = all.filter((c) => which(c.Labels[SANDBOX_LABELS.host] ?? '', c.Created));
  await Promise.all(doomed.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

export async function setup(): Promise<void> {
  process.env.BUGFIX_TEST_RUN = RUN;
  await removeTestSandboxes((host, created) => host.startsWith('test-') && created < Date.now() / 1000 - STALE_AFTER_S);
  server = await startDevServer();
  // Test files run in forked processes that inherit this environment.
  process.env.TEMPORAL_ADDRESS = server.address;
}

export async function teardown(): Promise<void> {
  await server?.stop();
  await removeTestSandboxes((host) => host.startsWith(`test-${RUN}-`));
}
