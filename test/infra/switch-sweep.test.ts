/**
 * A kill switch removes the sandboxes it covers on each host as soon as the host hears of it
 * (issue #17), before Temporal's kill reaches the fixes: against real Docker and the real
 * PostgreSQL LISTEN/NOTIFY. Only this host's sandboxes of covered projects go; a fix's own
 * cleanup racing the sweep does not fail; no sandbox is provisioned for a covered project.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSandboxActivities } from '../../activities/sandbox.js';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { removeSandboxContainer, SANDBOX_LABELS } from '../../src/sandbox/container.js';
import { listenForSwitches, notifySwitch, SpendGuard, type SwitchNotice } from '../../src/safety/spend-guard.js';
import { removeSandboxesInScope, type SwitchSweepResult } from '../../src/safety/switch-sweep.js';
import { idleSandboxes } from '../support/idle-sandboxes.js';

const config = loadConfig();
const prisma = createPrisma(config.DATABASE_URL);
const docker = new Docker();
const id = randomUUID().slice(0, 8);
const queue = `switch-sweep-${id}`;
const thisHost = `sweep-a-${id}`;
const otherHost = `sweep-b-${id}`;
const guard = new SpendGuard(queue);
const sweeps: Array<Promise<SwitchSweepResult>> = [];
const listener = listenForSwitches(config.DATABASE_URL, prisma, guard, { warn: () => undefined }, (n: SwitchNotice) =>
  sweeps.push(removeSandboxesInScope(docker, thisHost, n.scope)),
);

const sandboxes = idleSandboxes(docker);
const sandbox = (project: string, host = thisHost) => sandboxes.start({ workflowId: `wf-${randomUUID()}`, host, project });
const exists = sandboxes.exists;

beforeAll(async () => {
  await listener.ready;
});
afterAll(async () => {
  await listener.stop();
  await sandboxes.removeAll();
  await prisma.$disconnect();
});

describe('kill switch sweep', () => {
  test('a pressed switch removes the covered sandboxes of this host only; a racing cleanup still succeeds', async () => {
    const [shop1, shop2, blog, elsewhere] = await Promise.all([sandbox('shop'), sandbox('shop'), sandbox('blog'), sandbox('shop', otherHost)]);
    await notifySwitch(prisma, { action: 'on', taskQueue: queue, scope: 'project:shop', reason: 'test' });
    await expect.poll(() => sweeps.length, { timeout: 5000 }).toBe(1);
    // The fix's own cleanup arrives while the sweep removes its container: both end with it gone.
    const cleanup = removeSandboxContainer(docker, shop1);
    const swept = await sweeps[0]!;
    await expect(cleanup).resolves.toBeTypeOf('boolean');
    expect(swept.failed).toEqual([]);
    expect([await exists(shop1), await exists(shop2)]).toEqual([false, false]);
    expect([await exists(blog), await exists(elsewhere)]).toEqual([true, true]);

    // Another deployment's switch is not this worker's; a global one of this queue takes the rest here.
    await notifySwitch(prisma, { action: 'on', taskQueue: `${queue}-other`, scope: 'global', reason: 'not ours' });
    await notifySwitch(prisma, { action: 'on', taskQueue: queue, scope: 'global', reason: 'test' });
    await expect.poll(() => sweeps.length, { timeout: 5000 }).toBe(2);
    expect((await sweeps[1]!).removed).toEqual([blog]);
    expect(await exists(elsewhere)).toBe(true);
  });

  test('removals of one container racing each other all succeed, and it is gone when they return', async () => {
    const target = await sandbox('race');
    // Docker answers all but the first with 409 "removal ... is already in progress".
    const removals = await Promise.allSettled(Array.from({ length: 6 }, () => removeSandboxContainer(docker, target)));
    expect(removals.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await exists(target)).toBe(false);
  });

  test('no sandbox is provisioned for a project a switch covers', async () => {
    const stopped = new SpendGuard(queue);
    stopped.apply({ action: 'on', taskQueue: queue, scope: 'project:shop', reason: 'test' });
    const acts = createSandboxActivities({
      docker,
      image: config.SANDBOX_IMAGE,
      workDir: os.tmpdir(),
      hostId: thisHost,
      hostQueue: 'unused',
      spendGuard: stopped,
    });
    const workflowId = `wf-${randomUUID()}`;
    const req = { workflowId, bugId: 'b', projectKey: 'shop', cloneUrl: 'file:///nonexistent', defaultBranch: 'main' };
    await expect(acts.provisionSandbox(req)).rejects.toMatchObject({ type: 'SpendStopped' });
    expect(await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${workflowId}`] } })).toEqual([]);
    // Another project is not refused (it fails later, at the clone of a repository that is not there).
    await expect(acts.provisionSandbox({ ...req, projectKey: 'blog' })).rejects.not.toMatchObject({ type: 'SpendStopped' });
  });
});
