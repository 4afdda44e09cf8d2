/**
 * Organisation budgets on the cost ledger (issue #7): which UTC period a moment falls in, which
 * thresholds a spend has crossed, and which kill switch a hard crossing presses. Pure rules shared
 * by the spend check, the scheduled evaluator and the admin API.
 */
import type { KillSwitchScope } from './kill-switch.js';

export const BUDGET_PERIODS = ['DAY', 'WEEK', 'MONTH'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** In the order they are crossed. */
export const BUDGET_LEVELS = ['WARN', 'CRITICAL', 'HARD'] as const;
export type BudgetLevel = (typeof BUDGET_LEVELS)[number];

export interface BudgetThresholds {
  warnPct: number;
  criticalPct: number;
  hardPct: number;
}

/** From the original design's cost_budgets table. */
export const DEFAULT_THRESHOLDS: BudgetThresholds = { warnPct: 80, criticalPct: 95, hardPct: 100 };

/** The actor a budget's kill switch carries: the evaluator lifts only switches it pressed. */
export const BUDGET_ACTOR = 'budget-evaluator';

/** The smallest limit: limits are stored with 4 decimals, so a smaller one would be $0, at its hard limit with nothing spent. */
export const MIN_LIMIT_USD = 0.01;

/**
 * Time limit of the activity that presses a budget's kill switch. The activation waits for the
 * controller's fan-out up to its update deadline (UPDATE_DEADLINE_MS, 30 s, in
 * src/safety/kill-switch-client.ts); a longer limit lets the activity see that deadline pass and
 * check whether the switch was set, instead of being timed out and retried into pressing again.
 */
export const BUDGET_PRESS_TIMEOUT_MS = 60_000;

export interface Period {
  start: Date;
  /** exclusive */
  end: Date;
}

const DAY_MS = 24 * 3600_000;

/** The UTC period containing `at`: a day, an ISO week (Monday 00:00) or a calendar month. */
export function periodBounds(period: BudgetPeriod, at: Date): Period {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  switch (period) {
    case 'DAY':
      return { start: new Date(day), end: new Date(day + DAY_MS) };
    case 'WEEK': {
      const sinceMonday = (at.getUTCDay() + 6) % 7;
      const start = day - sinceMonday * DAY_MS;
      return { start: new Date(start), end: new Date(start + 7 * DAY_MS) };
    }
    case 'MONTH':
      return { start: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)), end: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)) };
  }
}

export function percentOf(spentUsd: number, limitUsd: number): number {
  // A $0 limit (only a sub-cent limit stored before MIN_LIMIT_USD): nothing spent is not over it.
  if (!(limitUsd > 0)) return spentUsd > 0 ? Infinity : 0;
  return (spentUsd / limitUsd) * 100;
}

/** Every level whose threshold the spend has reached, lowest first (one model call can cross several). */
export function crossedLevels(spentUsd: number, limitUsd: number, t: BudgetThresholds): BudgetLevel[] {
  const pct = percentOf(spentUsd, limitUsd);
  const at: Record<BudgetLevel, number> = { WARN: t.warnPct, CRITICAL: t.criticalPct, HARD: t.hardPct };
  return BUDGET_LEVELS.filter((l) => pct >= at[l]);
}

/** Thresholds must rise with the level, or a warning could come after the stop. */
export function thresholdProblem(t: BudgetThresholds): string | null {
  if (!(t.warnPct > 0)) return 'warnPct must be above 0';
  if (t.warnPct > t.criticalPct) return 'warnPct must not be above criticalPct';
  if (t.criticalPct > t.hardPct) return 'criticalPct must not be above hardPct';
  return null;
}

/** `budget` for the organisation, `budget:<key>` for one project: set apart from operators' switches. */
export function budgetScope(projectKey: string | null): KillSwitchScope {
  return projectKey ? `budget:${projectKey}` : 'budget';
}

/** `budget` or `budget:<key>`: pressed only by the budget evaluator. */
export function isBudgetScope(scope: string): boolean {
  return scope === 'budget' || scope.startsWith('budget:');
}

export function levelSeverity(level: BudgetLevel): 'warning' | 'critical' {
  return level === 'WARN' ? 'warning' : 'critical';
}

export interface BudgetFacts {
  id: string;
  name: string;
  projectKey: string | null;
  period: BudgetPeriod;
  limitUsd: number;
  spentUsd: number;
  periodStart: Date;
}

export function crossingSummary(b: BudgetFacts, level: BudgetLevel): string {
  const scope = b.projectKey ? `project ${b.projectKey}` : 'organisation';
  const what = level === 'HARD' ? 'reached its hard limit: new fixes are stopped until the period ends' : `at ${level.toLowerCase()} level`;
  return `Budget "${b.name}" (${scope}, ${b.period.toLowerCase()}) ${what}: $${b.spentUsd.toFixed(2)} of $${b.limitUsd.toFixed(2)} (${percentOf(b.spentUsd, b.limitUsd).toFixed(1)}%)`;
}

/** Dedupe key of a crossing's alert: one per budget, period and level. */
export function crossingDedupeKey(budgetId: string, periodStart: Date, level: BudgetLevel): string {
  return `budget:${budgetId}:${periodStart.toISOString()}:${level}`;
}
