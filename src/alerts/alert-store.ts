/**
 * Alerts in PostgreSQL: raise (create, or update the active alert with the same dedupe key, or
 * ask for one reminder past the dedupe window) and resolve. Concurrent evaluators agree through
 * the unique activeKey: one creates, the others update.
 */
import { randomUUID } from 'node:crypto';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import type { Alert } from '../generated/prisma/client.js';
import { activeKeyOf, alertAction, type AlertRoundKind, type AlertSeverity } from '../domain/organisation/alert-rules.js';

export type Db = PrismaClient | Prisma.TransactionClient;

export interface AlertInput {
  source: string;
  dedupeKey: string;
  rule: string;
  severity: AlertSeverity;
  summary: string;
  details?: Record<string, unknown>;
  value?: number | null;
  threshold?: number | null;
  projectId?: string | null;
  budgetId?: string | null;
  expiresAt?: Date | null;
}

export interface Raised {
  alert: Alert;
  action: AlertRoundKind;
}

export async function raiseAlert(db: Db, input: AlertInput, now: Date, dedupeWindowMs: number): Promise<Raised> {
  const activeKey = activeKeyOf(input.source, input.dedupeKey);
  const existing = await db.alert.findUnique({ where: { activeKey } });
  const action = alertAction(existing, now, dedupeWindowMs);
  if (action === 'create') {
    const id = randomUUID();
    // ON CONFLICT DO NOTHING: a concurrent evaluator that created it first makes this an update.
    const { count } = await db.alert.createMany({
      data: [
        {
          id,
          activeKey,
          source: input.source,
          dedupeKey: input.dedupeKey,
          rule: input.rule,
          severity: input.severity,
          summary: input.summary,
          details: input.details as Prisma.InputJsonValue | undefined,
          value: input.value ?? null,
          threshold: input.threshold ?? null,
          projectId: input.projectId ?? null,
          budgetId: input.budgetId ?? null,
          expiresAt: input.expiresAt ?? null,
          lastSeenAt: now,
        },
      ],
      skipDuplicates: true,
    });
    if (count === 1) return { alert: await db.alert.findUniqueOrThrow({ where: { id } }), action };
  }
  const current = existing ?? (await db.alert.findUniqueOrThrow({ where: { activeKey } }));
  const seen = { seenCount: { increment: 1 }, lastSeenAt: now, value: input.value ?? null, summary: input.summary, severity: input.severity };
  if (action === 'remind') {
    // Conditional on the round it read: of two evaluators, one asks for the reminder.
    const { count } = await db.alert.updateMany({
      where: { id: current.id, notifyRound: current.notifyRound, status: 'ACTIVE' },
      data: { ...seen, notifyRound: { increment: 1 } },
    });
    if (count === 1) return { alert: await db.alert.findUniqueOrThrow({ where: { id: current.id } }), action };
  }
  const alert = await db.alert.update({ where: { id: current.id }, data: seen });
  return { alert, action: 'update' };
}

/** Resolves an active alert; null when it is not active (already resolved, or unknown). */
export async function resolveAlert(db: Db, id: string, by: string, now = new Date()): Promise<Alert | null> {
  const { count } = await db.alert.updateMany({
    where: { id, status: 'ACTIVE' },
    data: { status: 'RESOLVED', activeKey: null, resolvedAt: now, resolvedBy: by },
  });
  return count === 1 ? db.alert.findUniqueOrThrow({ where: { id } }) : null;
}

export function alertView(a: Alert) {
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    status: a.status.toLowerCase(),
    summary: a.summary,
    dedupeKey: a.dedupeKey,
    source: a.source,
    value: a.value,
    threshold: a.threshold,
    projectId: a.projectId,
    budgetId: a.budgetId,
    details: a.details,
    seenCount: a.seenCount,
    createdAt: a.createdAt.toISOString(),
    lastSeenAt: a.lastSeenAt.toISOString(),
    notifiedAt: a.notifiedAt?.toISOString() ?? null,
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
    resolvedBy: a.resolvedBy,
  };
}
