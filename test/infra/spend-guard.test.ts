/**
 * Kill switches stop spending on every worker at once (issue #17): a switch stored and notified
 * through PostgreSQL aborts the model calls in flight that it covers and refuses new ones, on
 * every listening worker, without waiting for Temporal; other projects and other task queues go
 * on; lifting it lets calls start again. Against the real database (LISTEN/NOTIFY).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { listenForSwitches, notifySwitch, SpendGuard, SpendStopped } from '../../src/safety/spend-guard.js';

const config = loadConfig();
const prisma = createPrisma(config.DATABASE_URL);
const queue = `spend-guard-${Math.random().toString(36).slice(2, 8)}`;
const quiet = { warn: () => undefined };
const hosts = [new SpendGuard(queue), new SpendGuard(queue)];
const listeners = hosts.map((g) => listenForSwitches(config.DATABASE_URL, prisma, g, quiet));

/** A model call that only ends when its signal aborts. */
const pendingCall = (guard: SpendGuard, project: string) =>
  guard.run(project, undefined, (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))));

beforeAll(async () => {
  await Promise.all(listeners.map((l) => l.ready));
});
afterAll(async () => {
  await Promise.all(listeners.map((l) => l.stop()));
  await prisma.activeKillSwitch.deleteMany({ where: { taskQueue: queue } });
  await prisma.$disconnect();
});

describe('spend guard', () => {
  test('a switch aborts the calls it covers on every worker and refuses new ones; others go on; lifting it lets calls start', async () => {
    // Outcomes taken at once: a call may be aborted before the test awaits it.
    const outcome = (call: Promise<unknown>) =>
      call.then(
        () => 'answered',
        (e: Error) => e.message,
      );
    const covered = hosts.map((g) => outcome(pendingCall(g, 'shop')));
    let otherSettled = false;
    const other = outcome(pendingCall(hosts[0]!, 'billing')).finally(() => (otherSettled = true));

    // Another deployment's switch (another task queue) is not this one's.
    await notifySwitch(prisma, { action: 'on', taskQueue: `${queue}-other`, scope: 'global', reason: 'not ours' });
    await notifySwitch(prisma, { action: 'on', taskQueue: queue, scope: 'project:shop', reason: 'runaway costs' });
    expect(await Promise.all(covered)).toEqual(Array(2).fill('spending stopped by kill switch project:shop: runaway costs'));
    await expect(pendingCall(hosts[1]!, 'shop')).rejects.toBeInstanceOf(SpendStopped);
    expect(otherSettled).toBe(false);

    await notifySwitch(prisma, { action: 'off', taskQueue: queue, scope: 'project:shop' });
    await expect.poll(() => hosts.every((g) => g.stoppedFor('shop') === undefined)).toBe(true);
    await expect(hosts[0]!.run('shop', undefined, () => Promise.resolve('answered'))).resolves.toBe('answered');

    // A global switch covers the rest.
    await notifySwitch(prisma, { action: 'on', taskQueue: queue, scope: 'global', reason: 'stop everything' });
    expect(await other).toBe('spending stopped by kill switch global: stop everything');
  });

  test('a worker that missed the notification (or started later) takes the stored switches when it reads them', async () => {
    await prisma.activeKillSwitch.create({ data: { taskQueue: queue, scope: 'budget:late', reason: 'budget spent', actor: 'test' } });
    const late = new SpendGuard(queue);
    const listener = listenForSwitches(config.DATABASE_URL, prisma, late, quiet);
    await listener.ready;
    expect(late.stoppedFor('late')?.message).toBe('spending stopped by kill switch budget:late: budget spent');
    expect(late.stoppedFor('shop')).toBeUndefined();
    await listener.stop();
  });
});
