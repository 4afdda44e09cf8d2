/**
 * The admin dashboard as JSON, read from where the truth lives: Temporal visibility for what runs
 * now, the report rows and the cost ledger for outcomes, time to PR and spend, the safety
 * controller's memo for kill switches. A source that cannot be read is reported as such.
 */
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../db/prisma.js';
import { readSwitchesMemo } from '../safety/kill-switch-client.js';
import { PROJECT_KEY } from '../domain/fix/ids.js';
import { outcomesSince, spendSince, timeToPrSince, type SpendRow } from './fix-stats.js';
import { alertView } from '../alerts/alert-store.js';

const ALERTS_SHOWN = 20;

/** Active alerts, newest first: all of them, or one project's (budget and project alerts carry it). */
async function activeAlerts(prisma: PrismaClient, projectKey?: string) {
  const where = {
    status: 'ACTIVE' as const,
    ...(projectKey
      ? { projectId: (await prisma.project.findUnique({ where: { key: projectKey }, select: { id: true } }))?.id ?? '00000000-0000-0000-0000-000000000000' }
      : {}),
  };
  const [count, latest] = await Promise.all([
    prisma.alert.count({ where }),
    prisma.alert.findMany({ where, orderBy: { createdAt: 'desc' }, take: ALERTS_SHOWN }),
  ]);
  return { count, latest: latest.map(alertView) };
}

const DAY_MS = 24 * 3600_000;
const DEADLINE_MS = 3000;

function sumBy(rows: SpendRow[], key: 'project' | 'model'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r[key]] = Number(((out[r[key]] ?? 0) + r.costUsd).toFixed(8));
  return out;
}

const spendSummary = (rows: SpendRow[]) => ({
  totalUsd: Number(rows.reduce((s, r) => s + r.costUsd, 0).toFixed(8)),
  calls: rows.reduce((s, r) => s + r.calls, 0),
  byProject: sumBy(rows, 'project'),
  byModel: sumBy(rows, 'model'),
});

export async function buildDashboard(deps: { prisma: PrismaClient; temporal: Client; taskQueue: string }, projectKey?: string) {
  // It goes into a visibility query: only the project-key alphabet may reach it.
  if (projectKey !== undefined && !PROJECT_KEY.test(projectKey)) throw new Error(`invalid project key: ${projectKey}`);
  const now = new Date();
  const today = new Date(now);
  today.setUTCHours(0, 0, 0, 0);
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const dayAgo = new Date(now.getTime() - DAY_MS);

  const fixes = `WorkflowType = 'bugFixWorkflow' AND TaskQueue = '${deps.taskQueue}'${projectKey ? ` AND ProjectKey = '${projectKey}'` : ''}`;
  const count = (q: string) => deps.temporal.withDeadline(Date.now() + DEADLINE_MS, () => deps.temporal.workflow.count(q)).then((r) => r.count);
  const live = await Promise.all([
    count(`${fixes} AND ExecutionStatus = 'Running'`),
    count(`${fixes} AND ExecutionStatus = 'Running' AND Phase = 'queued'`),
  ]).then(
    ([running, queued]) => ({ running, queued }),
    () => null,
  );
  const [outcomes, timeToPr, spendToday, spendMonth, switches, alerts] = await Promise.all([
    outcomesSince(deps.prisma, dayAgo, projectKey),
    timeToPrSince(deps.prisma, dayAgo, projectKey),
    spendSince(deps.prisma, today, projectKey),
    spendSince(deps.prisma, month, projectKey),
    readSwitchesMemo(deps.temporal, deps.taskQueue).catch(() => undefined),
    activeAlerts(deps.prisma, projectKey),
  ]);
  const finished = (status: string) => outcomes.filter((o) => o.status === status).reduce((s, o) => s + o.n, 0);
  const prs = finished('PR_CREATED');
  const failed = finished('FAILED');
  return {
    generatedAt: now.toISOString(),
    project: projectKey ?? null,
    // null when Temporal could not be read: unknown is not zero
    queue: live ? { running: live.running, waitingToStart: live.queued } : null,
    last24h: {
      prsOpened: prs,
      failed,
      cancelled: finished('CANCELLED'),
      successRate: prs + failed > 0 ? Number((prs / (prs + failed)).toFixed(4)) : null,
      timeToPr,
    },
    spend: { today: spendSummary(spendToday), month: spendSummary(spendMonth) },
    killSwitches: switches === undefined ? null : (switches ?? []),
    activeAlerts: alerts,
    sources: { temporal: live !== null, safetyController: switches !== undefined },
  };
}
