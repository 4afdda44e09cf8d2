/**
 * Organisation budgets with what their current period has spent, read in one query: the spend
 * check runs it after every ledger write, so with no budget configured it costs one indexed
 * lookup that returns nothing.
 */
import { Prisma, type PrismaClient } from '../db/prisma.js';
import { periodBounds, type BudgetFacts, type BudgetLevel, type BudgetPeriod, type BudgetThresholds } from '../domain/organisation/org-budget.js';

export interface BudgetWithSpend extends BudgetFacts, BudgetThresholds {
  projectId: string | null;
  enabled: boolean;
  periodEnd: Date;
  /** levels already recorded for this period */
  crossed: BudgetLevel[];
}

/** Stored timestamps are UTC without a zone: compare with zone-less UTC text, whatever the session's TimeZone. */
const utcText = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');

type Row = {
  id: string;
  name: string;
  projectId: string | null;
  projectKey: string | null;
  period: BudgetPeriod;
  limitUsd: Prisma.Decimal;
  warnPct: number;
  criticalPct: number;
  hardPct: number;
  enabled: boolean;
  spent: Prisma.Decimal | null;
  crossed: string[];
};

/**
 * Enabled budgets (all, or those covering one project: its own and the global ones) with their
 * current period's spend and the levels already crossed in it.
 */
export async function budgetsWithSpend(
  prisma: PrismaClient,
  now: Date,
  filter: { projectId?: string; budgetId?: string; includeDisabled?: boolean } = {},
): Promise<BudgetWithSpend[]> {
  const start = (p: BudgetPeriod) => Prisma.sql`${utcText(periodBounds(p, now).start)}::timestamp(3)`;
  const periodStart = Prisma.sql`(CASE b."period" WHEN 'DAY' THEN ${start('DAY')} WHEN 'WEEK' THEN ${start('WEEK')} ELSE ${start('MONTH')} END)`;
  const where = [
    filter.includeDisabled ? Prisma.sql`TRUE` : Prisma.sql`b."enabled"`,
    filter.projectId ? Prisma.sql`(b."projectId" IS NULL OR b."projectId" = ${filter.projectId}::uuid)` : Prisma.empty,
    filter.budgetId ? Prisma.sql`b."id" = ${filter.budgetId}::uuid` : Prisma.empty,
  ].filter((s) => s !== Prisma.empty);
  const rows = await prisma.$queryRaw<Row[]>`
    SELECT b."id", b."name", b."projectId", p."key" AS "projectKey", b."period"::text AS "period", b."limitUsd",
      b."warnPct", b."criticalPct", b."hardPct", b."enabled",
      (SELECT sum(l."costUsd") FROM "LedgerEntry" l
        WHERE l."createdAt" >= ${periodStart} AND (b."projectId" IS NULL OR l."projectId" = b."projectId")) AS "spent",
      ARRAY(SELECT c."level"::text FROM "BudgetCrossing" c WHERE c."budgetId" = b."id" AND c."periodStart" = ${periodStart}) AS "crossed"
    FROM "OrgBudget" b LEFT JOIN "Project" p ON p."id" = b."projectId"
    WHERE ${Prisma.join(where, ' AND ')}
    ORDER BY b."createdAt"`;
  return rows.map((r) => {
    const bounds = periodBounds(r.period, now);
    return {
      id: r.id,
      name: r.name,
      projectId: r.projectId,
      projectKey: r.projectKey,
      period: r.period,
      limitUsd: Number(r.limitUsd),
      warnPct: r.warnPct,
      criticalPct: r.criticalPct,
      hardPct: r.hardPct,
      enabled: r.enabled,
      spentUsd: Number(r.spent ?? 0),
      periodStart: bounds.start,
      periodEnd: bounds.end,
      crossed: r.crossed as BudgetLevel[],
    };
  });
}
