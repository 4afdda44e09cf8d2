/**
 * A worker process started while Temporal is unreachable (a server restart, a deploy order)
 * waits for it and then polls, instead of exiting (found by `npm run chaos`).
 */
import { spawn } from 'node:child_process';
import { afterAll, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.js';
import { connectClient } from '../../src/temporal/connect.js';
import { freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { taskQueues } from '../../temporal.config.js';

let server: DevServer | undefined;
const children: Array<ReturnType<typeof spawn>> = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await server?.stop();
});

test('a worker started before Temporal is up waits, then polls its task queue', async () => {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: address },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(worker);
  let output = '';
  worker.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  worker.stderr!.on('data', (c: Buffer) => (output += c.toString()));

  await expect.poll(() => output, { timeout: 30_000 }).toMatch(/Temporal unreachable/);
  expect(worker.exitCode, output).toBeNull();

  server = await startDevServer({ port });
  process.env.TEMPORAL_ADDRESS = address;
  const client = await connectClient();
  try {
    // Workflow-task pollers (type 1) on the shared queue: the worker connected and runs.
    const pollers = async () =>
      (await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueues.main }, taskQueueType: 1 })).pollers.length;
    await expect.poll(pollers, { timeout: 60_000, interval: 500 }).toBeGreaterThan(0);
    expect(worker.exitCode, output).toBeNull();
  } finally {
    await client.connection.close();
  }
});
