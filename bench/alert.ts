/**
 * `npm run bench:alert`: how fast a budget stop is announced. Each run writes a ledger row that
 * takes a fresh project budget past its hard limit and runs the spend check callModel runs after
 * its ledger write (src/alerts/evaluator.ts onSpend); the clock runs from the ledger write until
 * the webhook stand-in has received the HARD alert (through alertDispatchWorkflow on the worker).
 * The time until the budget kill switch is visible to intake is reported alongside, and what the
 * spend check costs a model call when nothing is crossed. One warm-up, then BENCH_RUNS runs
 * (default 12); writes bench/results/alert.json.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { startStack } from '../dev/local-stack.js';
import { onSpend } from '../src/alerts/evaluator.js';
import { alertConfigFrom } from '../src/alerts/alert-config.js';
import { Prisma } from '../src/db/prisma.js';
import { deactivateKillSwitch, readSwitchesMemo } from '../src/safety/kill-switch-client.js';
import { taskQueues } from '../temporal.config.js';
import type { ModelScript } from '../dev/stand-ins/anthropic-api.js';
import { startNotificationStandIns, type Received } from '../dev/stand-ins/notifications.js';
import { quantile, runMain, writeResult } from './support.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 12);
const TARGET_MS = 5000;
const idle: ModelScript = () => [{ type: 'text', text: 'unused' }];

async function main(): Promise<void> {
  const notif = await startNotificationStandIns();
  // The organisation's alert webhook is configuration, pointed at the stand-in.
  process.env.ALERT_WEBHOOK_URL = `${notif.http.url}/hooks/alerts`;
  process.env.ALERT_WEBHOOK_SECRET = 'bench-alert-webhook-secret';
  const stack = await startStack({ script: idle, temporal: 'ephemeral', httpPort: 0 });
  const queue = taskQueues.main;
  const ev = { prisma: stack.prisma, temporal: stack.temporal, taskQueue: queue, rules: alertConfigFrom(stack.config).rules };
  const tag = `alert-${Date.now().toString(36)}`;
  const projectIds: string[] = [];
  const times: number[] = [];
  const switchTimes: number[] = [];
  let waiting: { budgetId: string; resolve: () => void } | undefined;
  notif.onReceive = (channel, r: Received) => {
    const alert = r.body.alert as { budgetId?: string; details?: { level?: string } } | undefined;
    if (channel === 'hooks' && waiting && alert?.budgetId === waiting.budgetId && alert.details?.level === 'HARD') waiting.resolve();
  };
  const checkTimes: number[] = [];
  try {
    // What every model call pays when nothing is crossed: the spend check on a project without a budget.
    const quiet = await stack.prisma.project.create({ data: { key: `${tag}-quiet`, name: 'quiet', repoOwner: 'acme', repoName: 'quiet' } });
    projectIds.push(quiet.id);
    for (let i = 0; i < 60; i++) {
      const t = performance.now();
      await onSpend(ev, { projectId: quiet.id });
      if (i >= 10) checkTimes.push(performance.now() - t);
    }
    for (let run = 0; run <= RUNS; run++) {
      const key = `${tag}-${run}`;
      const project = await stack.prisma.project.create({ data: { key, name: key, repoOwner: 'acme', repoName: key } });
      projectIds.push(project.id);
      const budget = await stack.prisma.orgBudget.create({
        data: { name: `bench ${key}`, projectId: project.id, period: 'DAY', limitUsd: new Prisma.Decimal(1) },
      });
      const received = new Promise<void>((resolve) => (waiting = { budgetId: budget.id, resolve }));

      const started = performance.now();
      await stack.prisma.ledgerEntry.create({
        data: {
          callKey: `${key}-${randomUUID()}`,
          workflowId: `bench-${key}`,
          projectId: project.id,
          bugId: randomUUID(),
          iteration: 1,
          model: 'bench',
          inputTokens: 0,
          outputTokens: 0,
          costUsd: new Prisma.Decimal('1.5'),
        },
      });
      await onSpend(ev, { projectId: project.id });
      let switchMs: number | undefined;
      const switchSeen = (async () => {
        while (!((await readSwitchesMemo(stack.temporal, queue)) ?? []).some((s) => s.scope === `budget:${key}`)) await new Promise((r) => setTimeout(r, 10));
        switchMs = performance.now() - started;
      })();
      await Promise.race([
        received,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`run ${run}: no HARD alert at the webhook within 30 s`)), 30_000)),
      ]);
      const elapsed = performance.now() - started;
      await switchSeen;
      if (run === 0) console.log(`warm-up: alert at the webhook after ${elapsed.toFixed(0)} ms`);
      else {
        times.push(elapsed);
        switchTimes.push(switchMs!);
        console.log(`run ${run}: HARD alert at the webhook after ${elapsed.toFixed(0)} ms, kill switch budget:${key} visible after ${switchMs!.toFixed(0)} ms`);
      }
      await deactivateKillSwitch(stack, queue, { scope: `budget:${key}`, reason: 'bench run over', actor: 'bench' });
    }
  } finally {
    const alerts = await stack.prisma.alert.findMany({ where: { source: queue }, select: { id: true } });
    await stack.prisma.notificationDelivery
      .deleteMany({ where: { OR: alerts.map((a) => ({ idempotencyKey: { startsWith: `alert:${a.id}:` } })) } })
      .catch(() => undefined);
    await stack.prisma.alert.deleteMany({ where: { source: queue } }).catch(() => undefined);
    await stack.prisma.ledgerEntry.deleteMany({ where: { projectId: { in: projectIds } } }).catch(() => undefined);
    await stack.prisma.safetyEvent.deleteMany({ where: { projectId: { in: projectIds } } }).catch(() => undefined);
    await stack.prisma.project.deleteMany({ where: { id: { in: projectIds } } }).catch(() => undefined);
    await stack.stop();
    await notif.close();
  }
  const p95Ms = Math.round(quantile(times, 0.95));
  writeResult('alert', {
    runs: times.length,
    p50Ms: Math.round(quantile(times, 0.5)),
    p95Ms,
    maxMs: Math.round(Math.max(...times)),
    killSwitchP50Ms: Math.round(quantile(switchTimes, 0.5)),
    killSwitchP95Ms: Math.round(quantile(switchTimes, 0.95)),
    spendCheckP50Ms: Number(quantile(checkTimes, 0.5).toFixed(2)),
    spendCheckP95Ms: Number(quantile(checkTimes, 0.95).toFixed(2)),
    target: TARGET_MS,
    meetsTarget: p95Ms <= TARGET_MS,
    cpus: os.cpus().length,
  });
}

runMain(main);
