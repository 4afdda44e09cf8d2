/**
 * One real Temporal dev server (in memory, headless) for the whole test run. Sandboxes of test
 * workers (host ids `test-…`) die with that server's workflows, so they are swept before and
 * after the run: a test that leaves a fix running must not leave a container behind.
 */
import Docker from 'dockerode';
import { SANDBOX_LABELS } from '../../activities/sandbox.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';

let server: DevServer | undefined;

async function removeTestSandboxes(): Promise<void> {
  const docker = new Docker();
  const all = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.managed}=true`] } });
  for (const c of all) {
    if (c.Labels[SANDBOX_LABELS.host]?.startsWith('test-')) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
}

export async function setup(): Promise<void> {
  await removeTestSandboxes();
  server = await startDevServer();
  // Test files run in forked processes that inherit this environment.
  process.env.TEMPORAL_ADDRESS = server.address;
}

export async function teardown(): Promise<void> {
  await server?.stop();
  await removeTestSandboxes();
}
