/** Organisation budgets for the admin API: request schemas, create/change, and the view with current spend. */
import { z } from 'zod';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import { PROJECT_KEY } from '../domain/fix/ids.js';
import { BUDGET_PERIODS, DEFAULT_THRESHOLDS, MIN_LIMIT_USD, percentOf, periodBounds, thresholdProblem } from '../domain/organisation/org-budget.js';
import { HttpError } from '../http/error-handler.js';
import { budgetsWithSpend, type BudgetWithSpend } from './budget-spend.js';

const pct = z.number().positive().max(1000);
const limit = z.number().min(MIN_LIMIT_USD, `limitUsd must be at least ${MIN_LIMIT_USD} (stored to 4 decimals, a smaller limit would be $0)`).max(1e9);
const period = z.enum(['day', 'week', 'month']).transform((p) => p.toUpperCase() as (typeof BUDGET_PERIODS)[number]);

export const budgetChangeSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  period: period.optional(),
  limitUsd: limit.optional(),
  warnPct: pct.optional(),
  criticalPct: pct.optional(),
  hardPct: pct.optional(),
  enabled: z.boolean().optional(),
});

export const budgetCreateSchema = budgetChangeSchema.extend({
  /** a project key; absent or null: the whole organisation */
  project: z.string().regex(PROJECT_KEY).nullable().optional(),
  period,
  limitUsd: limit,
});

export const budgetListSchema = z.object({ project: z.string().regex(PROJECT_KEY).optional() });

export function budgetView(b: BudgetWithSpend) {
  return {
    id: b.id,
    name: b.name,
    project: b.projectKey,
    period: b.period.toLowerCase(),
    limitUsd: b.limitUsd,
    warnPct: b.warnPct,
    criticalPct: b.criticalPct,
    hardPct: b.hardPct,
    enabled: b.enabled,
    periodStart: b.periodStart.toISOString(),
    periodEnd: b.periodEnd.toISOString(),
    spentUsd: Number(b.spentUsd.toFixed(8)),
    percent: Number(percentOf(b.spentUsd, b.limitUsd).toFixed(2)),
    crossed: b.crossed,
  };
}

function checkThresholds(t: { warnPct: number; criticalPct: number; hardPct: number }): void {
  const problem = thresholdProblem(t);
  if (problem) throw new HttpError(400, `invalid thresholds: ${problem}`);
}

export async function listBudgets(prisma: PrismaClient, projectKey?: string) {
  const rows = await budgetsWithSpend(prisma, new Date(), { includeDisabled: true });
  return rows.filter((b) => projectKey === undefined || b.projectKey === projectKey).map(budgetView);
}

export async function readBudget(prisma: PrismaClient, id: string) {
  const [b] = await budgetsWithSpend(prisma, new Date(), { budgetId: id, includeDisabled: true });
  if (!b) throw new HttpError(404, `no budget ${id}`);
  return budgetView(b);
}

export async function createBudget(prisma: PrismaClient, body: z.output<typeof budgetCreateSchema>) {
  const thresholds = { ...DEFAULT_THRESHOLDS, ...defined({ warnPct: body.warnPct, criticalPct: body.criticalPct, hardPct: body.hardPct }) };
  checkThresholds(thresholds);
  const project = body.project ? await prisma.project.findUnique({ where: { key: body.project }, select: { id: true } }) : null;
  if (body.project && !project) throw new HttpError(404, `no project ${body.project}`);
  const name = body.name ?? `${body.project ?? 'organisation'} ${body.period.toLowerCase()}`;
  const row = await prisma.orgBudget.create({
    data: {
      name,
      projectId: project?.id ?? null,
      period: body.period,
      limitUsd: new Prisma.Decimal(body.limitUsd),
      enabled: body.enabled ?? true,
      ...thresholds,
    },
  });
  return readBudget(prisma, row.id);
}

/**
 * Crossings fire once per period, so a changed limit, threshold, period or enabled flag clears
 * the current period's crossings in the same transaction: otherwise a raised limit (the evaluator
 * lifts the switch) would leave HARD marked as crossed, and spend reaching the new limit would
 * stop nothing. The evaluator records again whatever is still reached under the new settings,
 * so an edit re-arms the budget: a level still reached alerts again, and a HARD one presses the
 * switch again (an approved overspend lasts by raising the limit, not by lifting the switch).
 * recordCrossings holds the budget's row while it inserts, so a crossing judged by the old
 * settings is either deleted here or not inserted.
 */
export async function changeBudget(prisma: PrismaClient, id: string, body: z.output<typeof budgetChangeSchema>) {
  const current = await prisma.orgBudget.findUnique({ where: { id } });
  if (!current) throw new HttpError(404, `no budget ${id}`);
  const thresholds = {
    warnPct: current.warnPct,
    criticalPct: current.criticalPct,
    hardPct: current.hardPct,
    ...defined({ warnPct: body.warnPct, criticalPct: body.criticalPct, hardPct: body.hardPct }),
  };
  checkThresholds(thresholds);
  await prisma.$transaction(async (tx) => {
    const updated = await tx.orgBudget.update({
      where: { id },
      data: {
        ...defined({ name: body.name, period: body.period, enabled: body.enabled }),
        ...(body.limitUsd !== undefined ? { limitUsd: new Prisma.Decimal(body.limitUsd) } : {}),
        ...thresholds,
      },
    });
    const rearmed =
      !updated.limitUsd.equals(current.limitUsd) ||
      updated.period !== current.period ||
      updated.enabled !== current.enabled ||
      updated.warnPct !== current.warnPct ||
      updated.criticalPct !== current.criticalPct ||
      updated.hardPct !== current.hardPct;
    if (!rearmed) return;
    // The current period under the old and the new kind (the same start, e.g. a day and a month on the 1st).
    const now = new Date();
    const starts = [periodBounds(current.period, now).start, periodBounds(updated.period, now).start];
    await tx.budgetCrossing.deleteMany({ where: { budgetId: id, periodStart: { in: starts } } });
  });
  return readBudget(prisma, id);
}

export async function deleteBudget(prisma: PrismaClient, id: string) {
  const { count } = await prisma.orgBudget.deleteMany({ where: { id } });
  if (count === 0) throw new HttpError(404, `no budget ${id}`);
  return { deleted: id };
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
