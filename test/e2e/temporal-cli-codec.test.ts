/**
 * The real `temporal` CLI through our codec endpoint, on a real fix workflow whose payloads are
 * encrypted (a worker with the workflow code and no activities: the fix waits on its first
 * activity, answers queries and records signals).
 * - `temporal workflow query` posts `{}` to /codec/encode for its (absent) arguments: protobuf
 *   JSON leaves an empty list out. It used to be a 400 ("payloads: expected array").
 * - `temporal workflow show` posts `{}` to /codec/decode for a signal without arguments (`pause`);
 *   the CLI retries a failed decode until its 10 s deadline ("context deadline exceeded").
 */
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import type { FixInput, FixStatus } from '../../src/domain/fix/fix.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { createApp } from '../../src/http/app.js';
import { connectClient, connectWorker } from '../../src/temporal/connect.js';
import { temporalCliPath } from '../../src/temporal/dev-server.js';
import { ENCODING } from '../../src/temporal/payload-codec.js';
import { dataConverter } from '../../src/temporal/payload-keys.js';
import { workflowBundle } from '../../src/worker.js';
import { taskQueues } from '../../temporal.config.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
const suffix = Math.random().toString(36).slice(2, 8);
/** Only in encrypted payloads: the input (and so the status query's answer) and a hint signal. */
const bugId = `cli-codec-bug-${suffix}`;
const hint = `look at the warehouse export WH-${suffix}`;

let temporal: Client;
let worker: Worker;
let running: Promise<void>;
let http: Server;
let codecUrl: string;
let viewer: string;
let handle: WorkflowHandle;

/** Asynchronously: the codec endpoint the CLI calls is served by this very process. */
async function cli(...args: string[]): Promise<string> {
  // The caller's own TEMPORAL_CODEC_* settings must not leak into the runs without the codec.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_CODEC')));
  const { stdout } = await promisify(execFile)(temporalCliPath(), [...args, '--address', process.env.TEMPORAL_ADDRESS!, '--workflow-id', handle.workflowId], {
    env,
    timeout: 60_000,
    maxBuffer: 16 << 20,
  });
  return stdout;
}
const withCodec = () => ['--codec-endpoint', codecUrl, '--codec-auth', `Bearer ${viewer}`];

beforeAll(async () => {
  temporal = await connectClient();
  const app = createApp({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log: { error: () => undefined } });
  http = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  codecUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/codec`;
  viewer = (await createAdminToken(prisma, `cli-codec-${suffix}`, 'VIEWER')).token;

  const { connection, namespace } = await connectWorker();
  worker = await Worker.create({ connection, namespace, taskQueue: taskQueues.main, workflowBundle: await workflowBundle(), dataConverter: dataConverter() });
  running = worker.run();
  handle = await temporal.workflow.start('bugFixWorkflow', {
    taskQueue: taskQueues.main,
    workflowId: `cli-codec-${suffix}`,
    args: [{ bugId, projectId: `project-${suffix}`, projectKey: `cli-${suffix}` } satisfies FixInput],
  });
  await handle.signal('pause'); // no arguments: an empty payload list in history
  await handle.signal('hint', hint);
  // The worker has seen both signals once the status says paused.
  await vi.waitFor(async () => expect(((await handle.query('status')) as FixStatus).paused).toBe(true), { timeout: 30_000, interval: 200 });
});

afterAll(async () => {
  await handle?.terminate().catch(() => undefined);
  worker?.shutdown();
  await running;
  await new Promise((r) => http?.close(r));
  await temporal?.connection.close();
  await prisma.$disconnect();
});

describe('the temporal CLI with --codec-endpoint', () => {
  test('without the codec the CLI sees ciphertext only', async () => {
    const raw = (await cli('workflow', 'show', '--output', 'json')) + (await cli('workflow', 'show', '--detailed'));
    expect(raw).toContain(Buffer.from(ENCODING).toString('base64'));
    for (const secret of [bugId, hint]) {
      expect(raw).not.toContain(secret);
      expect(raw).not.toContain(Buffer.from(secret).toString('base64').slice(0, 16));
    }
  });

  test('workflow query prints the decoded answer', async () => {
    const out = await cli('workflow', 'query', '--type', 'status', ...withCodec());
    expect(out).toContain(bugId);
    expect(out).toMatch(/"paused":\s*true/);
  });

  test('workflow show prints the decoded input and signal, quickly', async () => {
    const started = Date.now();
    const out = await cli('workflow', 'show', '--detailed', ...withCodec());
    expect(out).toContain(bugId);
    expect(out).toContain(hint);
    // A decode the endpoint refuses makes the CLI retry until its 10 s deadline.
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});
