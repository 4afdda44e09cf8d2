/**
 * Records the thresholds budgets have newly crossed. Each crossing is one transaction: the unique
 * (budget, period, level) row, its safety event and its alert. Only the transaction that inserted
 * the row goes on to alert (and, for HARD, to stop new fixes), so retries, concurrent model calls
 * on several workers and the scheduled evaluator fire each crossing once per period, or once
 * more after an admin changed the budget (changeBudget clears the period's crossings).
 */
import { randomUUID } from 'node:crypto';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import {
  budgetScope,
  crossedLevels,
  crossingDedupeKey,
  crossingSummary,
  levelSeverity,
  percentOf,
  type BudgetLevel,
} from '../domain/organisation/org-budget.js';
import { raiseAlert } from './alert-store.js';
import type { BudgetWithSpend } from './budget-spend.js';

export interface NewCrossing {
  crossingId: string;
  alertId: string;
  /** the alert's trigger round: 1, or the next round when its alert was still active (crossed again after a budget change) */
  round: number;
  level: BudgetLevel;
  budgetId: string;
  /** HARD only: the kill switch to press */
  scope?: string;
}

const SAFETY_KIND: Record<BudgetLevel, string> = { WARN: 'budget-warning', CRITICAL: 'budget-critical', HARD: 'budget-exceeded' };

export function newLevels(b: BudgetWithSpend): BudgetLevel[] {
  return crossedLevels(b.spentUsd, b.limitUsd, b).filter((l) => !b.crossed.includes(l));
}

export async function recordCrossings(prisma: PrismaClient, source: string, budgets: readonly BudgetWithSpend[], now: Date): Promise<NewCrossing[]> {
  const out: NewCrossing[] = [];
  for (const b of budgets) {
    for (const level of newLevels(b)) {
      const won = await prisma.$transaction(async (tx) => {
        // Holds the budget's row until commit, and only while it has the settings this spend was
        // judged by: an admin's change (changeBudget) then either deletes this crossing after
        // us, or committed first and we record nothing (the next evaluation judges anew).
        const [same] = await tx.$queryRaw<Array<{ same: boolean }>>`
          SELECT ("limitUsd" = ${new Prisma.Decimal(b.limitUsd)} AND "warnPct" = ${b.warnPct} AND "criticalPct" = ${b.criticalPct} AND "hardPct" = ${b.hardPct}
            AND "period"::text = ${b.period} AND "enabled" = ${b.enabled}) AS "same"
          FROM "OrgBudget" WHERE "id" = ${b.id}::uuid FOR SHARE`;
        if (!same?.same) return null;
        const crossingId = randomUUID();
        const { count } = await tx.budgetCrossing.createMany({
          data: [
            {
              id: crossingId,
              budgetId: b.id,
              periodStart: b.periodStart,
              level,
              spentUsd: new Prisma.Decimal(b.spentUsd.toFixed(8)),
              limitUsd: new Prisma.Decimal(b.limitUsd),
            },
          ],
          skipDuplicates: true,
        });
        if (count === 0) return null;
        const scope = level === 'HARD' ? budgetScope(b.projectKey) : undefined;
        const summary = crossingSummary(b, level);
        const details = {
          budgetId: b.id,
          budgetName: b.name,
          project: b.projectKey,
          period: b.period,
          periodStart: b.periodStart.toISOString(),
          periodEnd: b.periodEnd.toISOString(),
          level,
          spentUsd: b.spentUsd,
          limitUsd: b.limitUsd,
          percent: Number(percentOf(b.spentUsd, b.limitUsd).toFixed(2)),
          ...(scope ? { killSwitch: scope } : {}),
        };
        const { alert } = await raiseAlert(
          tx,
          {
            source,
            dedupeKey: crossingDedupeKey(b.id, b.periodStart, level),
            rule: 'budget',
            severity: levelSeverity(level),
            summary,
            details,
            value: b.spentUsd,
            threshold: (b.limitUsd * { WARN: b.warnPct, CRITICAL: b.criticalPct, HARD: b.hardPct }[level]) / 100,
            projectId: b.projectId,
            budgetId: b.id,
            expiresAt: b.periodEnd,
          },
          now,
          0,
        );
        await tx.budgetCrossing.update({ where: { id: crossingId }, data: { alertId: alert.id } });
        await tx.safetyEvent.create({
          data: {
            kind: SAFETY_KIND[level],
            severity: levelSeverity(level),
            message: summary,
            projectId: b.projectId,
            actor: 'budget-evaluator',
            details: { ...details, alertId: alert.id, crossingId },
          },
        });
        return { crossingId, alertId: alert.id, round: alert.notifyRound, level, budgetId: b.id, scope };
      });
      if (won) out.push(won);
    }
  }
  return out;
}
