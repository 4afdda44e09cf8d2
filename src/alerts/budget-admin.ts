/** Organisation budgets for the admin API: request schemas, create/change, and the view with current spend. */
import { z } from 'zod';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import { PROJECT_KEY } from '../domain/ids.js';
import { BUDGET_PERIODS, DEFAULT_THRESHOLDS, percentOf, thresholdProblem } from '../domain/org-budget.js';
import { HttpError } from '../http/errors.js';
import { budgetsWithSpend, type BudgetWithSpend } from './budget-spend.js';

const pct = z.number().positive().max(1000);
const period = z.enum(['day', 'week', 'month']).transform((p) => p.toUpperCase() as (typeof BUDGET_PERIODS)[number]);

export const budgetChangeSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  period: period.optional(),
  limitUsd: z.number().positive().max(1e9).optional(),
  warnPct: pct.optional(),
  criticalPct: pct.optional(),
  hardPct: pct.optional(),
  enabled: z.boolean().optional(),
});

export const budgetCreateSchema = budgetChangeSchema.extend({
  /** a project key; absent or null: the whole organisation */
  project: z.string().regex(PROJECT_KEY).nullable().optional(),
  period,
  limitUsd: z.number().positive().max(1e9),
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
    data: { name, projectId: project?.id ?? null, period: body.period, limitUsd: new Prisma.Decimal(body.limitUsd), enabled: body.enabled ?? true, ...thresholds },
  });
  return readBudget(prisma, row.id);
}

export async function changeBudget(prisma: PrismaClient, id: string, body: z.output<typeof budgetChangeSchema>) {
  const current = await prisma.orgBudget.findUnique({ where: { id } });
  if (!current) throw new HttpError(404, `no budget ${id}`);
  const thresholds = { warnPct: current.warnPct, criticalPct: current.criticalPct, hardPct: current.hardPct, ...defined({ warnPct: body.warnPct, criticalPct: body.criticalPct, hardPct: body.hardPct }) };
  checkThresholds(thresholds);
  await prisma.orgBudget.update({
    where: { id },
    data: { ...defined({ name: body.name, period: body.period, enabled: body.enabled }), ...(body.limitUsd !== undefined ? { limitUsd: new Prisma.Decimal(body.limitUsd) } : {}), ...thresholds },
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
