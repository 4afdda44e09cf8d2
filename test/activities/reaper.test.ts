/**
 * The sandbox reaper against real Docker and a real Temporal server: this host's sandboxes whose
 * workflow is closed or unknown go, a running workflow's stays, another host's is not touched;
 * the Schedule that runs it is created once and updated in place.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createReaperActivities } from '../../activities/reaper.js';
import { idleSandboxes } from '../support/idle-sandboxes.js';
import { connectClient } from '../../src/temporal/connect.js';
import { ensureReaperSchedule, reaperScheduleId } from '../../src/temporal/reaper-schedule.js';

const docker = new Docker();
const id = randomUUID().slice(0, 8);
const hostId = `test-reaper-${id}`;
let client: Client;

const sandboxes = idleSandboxes(docker);
const sandbox = (workflowId: string, host = hostId) => sandboxes.start({ workflowId, host });
const exists = sandboxes.exists;

beforeAll(async () => {
  client = await connectClient();
});
afterAll(async () => {
  await sandboxes.removeAll();
  await client.schedule
    .getHandle(reaperScheduleId(hostId))
    .delete()
    .catch(() => undefined);
  await client.connection.close();
});

describe('sandbox reaper', () => {
  test('removes sandboxes of closed and unknown workflows only, on this host only', async () => {
    // No worker polls this queue: a started workflow simply stays RUNNING.
    const queue = `reaper-nobody-${id}`;
    const running = await client.workflow.start('bugFixWorkflow', { taskQueue: queue, workflowId: `reaper-running-${id}`, args: [{}] });
    const closed = await client.workflow.start('bugFixWorkflow', { taskQueue: queue, workflowId: `reaper-closed-${id}`, args: [{}] });
    await closed.terminate('test');
    const keep = await sandbox(running.workflowId);
    const gone1 = await sandbox(closed.workflowId);
    const gone2 = await sandbox(`reaper-unknown-${id}`);
    const otherHost = await sandbox(`reaper-unknown-${id}`, `${hostId}-other`);

    const { reapSandboxes } = createReaperActivities({ docker, temporal: client, hostId });
    expect(await reapSandboxes({ minAgeMs: 60 * 60_000 })).toEqual({ checked: 3, removed: [] });
    const r = await reapSandboxes({ minAgeMs: 0 });
    expect(r.removed.map((x) => [x.containerId, x.why]).sort()).toEqual(
      [
        [gone1, 'workflow terminated'],
        [gone2, 'workflow unknown'],
      ].sort(),
    );
    expect(await exists(keep)).toBe(true);
    expect(await exists(otherHost)).toBe(true);
    expect(await exists(gone1)).toBe(false);
    await running.terminate('test done');
  });

  test("the startup sweep's cutoff: a sandbox created after the worker started is left alone", async () => {
    const workerStarted = Date.now() - 5_000;
    const young = await sandbox(`reaper-unknown-young-${id}`, `${hostId}-sweep`);
    const { reapSandboxes } = createReaperActivities({ docker, temporal: client, hostId: `${hostId}-sweep` });
    expect(await reapSandboxes({ minAgeMs: 0, createdBeforeMs: workerStarted })).toEqual({ checked: 1, removed: [] });
    expect(await exists(young)).toBe(true);
    const r = await reapSandboxes({ minAgeMs: 0, createdBeforeMs: Date.now() + 2_000 });
    expect(r.removed.map((x) => x.containerId)).toEqual([young]);
  });

  test('the reaper Schedule is created once and updated in place', async () => {
    const opts = { hostId, hostQueue: `q-host-${hostId}`, taskQueue: `q-${id}` };
    expect(await ensureReaperSchedule(client, { ...opts, every: '10 minutes' })).toBe(reaperScheduleId(hostId));
    await ensureReaperSchedule(client, { ...opts, every: '3 minutes', minAgeMs: 1234 });
    const d = await client.schedule.getHandle(reaperScheduleId(hostId)).describe();
    expect(d.spec.intervals?.map((i) => i.every)).toEqual([3 * 60_000]);
    expect(d.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'sandboxReaperWorkflow',
      taskQueue: opts.taskQueue,
      args: [{ hostQueue: opts.hostQueue, minAgeMs: 1234 }],
    });
  });
});
