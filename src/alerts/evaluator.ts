/**
 * Evaluation of budgets and alert rules, in two shapes:
 * - onSpend: right after a ledger row is written (activities/model.ts). Reads the budgets that
 *   cover the project and today's spend (two queries when nothing is crossed) and records only
 *   what is new; delivery and kill switches go to a workflow, so the model call does not wait.
 * - evaluateAll: the alert Schedule's run. Everything onSpend does for every budget, plus the
 *   rules, reminders, resolutions, lifting budget switches after a rollover and re-dispatching
 *   anything a crash left undelivered.
 */
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../db/prisma.js';
import { activeKeyOf, evaluateRules, ruleDedupeKey, type AlertRuleSettings, type RuleVerdict } from '../domain/organisation/alert-rules.js';
import { periodBounds } from '../domain/organisation/org-budget.js';
import { dispatchAlert, type AlertDispatchInput } from './alert-dispatch.js';
import { raiseAlert, resolveAlert } from './alert-store.js';
import { recordCrossings, type NewCrossing } from './budget-crossings.js';
import { budgetsWithSpend } from './budget-spend.js';
import { activateCrossingSwitch, claimable, liftRolledOverSwitches } from './budget-switch.js';
import { readRuleMetrics, readSpendToday } from './rule-metrics.js';

export interface EvaluatorDeps {
  prisma: PrismaClient;
  /** without one, alerts are recorded and the next scheduled run (on a worker) dispatches them */
  temporal?: Client;
  /** the deployment's shared task queue: the alert source, the safety controller's queue, where dispatches run */
  taskQueue: string;
  rules: AlertRuleSettings;
}

export interface EvaluationSummary {
  crossings: number;
  triggered: number;
  reminded: number;
  resolved: number;
  redispatched: number;
  switchesActivated: number;
  switchesLifted: string[];
}

/** A delivery that a crash may have interrupted is taken up again after this long. */
const REDISPATCH_AFTER_MS = 30_000;
const MIN_MS = 60_000;

const crossingDispatch = (c: NewCrossing): AlertDispatchInput => ({
  alertId: c.alertId,
  action: 'trigger',
  round: c.round,
  ...(c.scope ? { crossingId: c.crossingId } : {}),
});

async function dispatchAll(deps: EvaluatorDeps, list: AlertDispatchInput[]): Promise<void> {
  if (!deps.temporal || list.length === 0) return;
  await Promise.all(list.map((d) => dispatchAlert(deps.temporal!, deps.taskQueue, d)));
}

async function applyVerdict(
  deps: EvaluatorDeps,
  v: RuleVerdict,
  now: Date,
): Promise<{ dispatch?: AlertDispatchInput; resolved?: boolean; reminded?: boolean }> {
  const dedupeKey = ruleDedupeKey(v.rule);
  if (!v.firing) {
    const active = await deps.prisma.alert.findUnique({ where: { activeKey: activeKeyOf(deps.taskQueue, dedupeKey) }, select: { id: true } });
    if (!active) return {};
    const r = await resolveAlert(deps.prisma, active.id, 'alert-evaluator: condition cleared', now);
    return r ? { resolved: true, dispatch: { alertId: r.id, action: 'resolve', round: r.notifyRound } } : {};
  }
  const { alert, action } = await raiseAlert(
    deps.prisma,
    {
      source: deps.taskQueue,
      dedupeKey,
      rule: v.rule,
      severity: v.severity,
      summary: v.summary,
      value: v.value,
      threshold: v.threshold,
      details: { rule: v.rule, value: v.value, threshold: v.threshold },
    },
    now,
    deps.rules.dedupeWindowMinutes * MIN_MS,
  );
  if (action === 'update') return {};
  return { reminded: action === 'remind', dispatch: { alertId: alert.id, action: 'trigger', round: alert.notifyRound } };
}

export async function onSpend(deps: EvaluatorDeps, e: { projectId: string }, now = new Date()): Promise<void> {
  const budgets = await budgetsWithSpend(deps.prisma, now, { projectId: e.projectId });
  const crossings = budgets.length > 0 ? await recordCrossings(deps.prisma, deps.taskQueue, budgets, now) : [];
  const dispatches = crossings.map(crossingDispatch);
  const spend = await readSpendToday(deps.prisma, now, activeKeyOf(deps.taskQueue, ruleDedupeKey('daily_spend')));
  // Already active: the schedule keeps it up to date; a spend event writes nothing.
  if (!spend.active) {
    for (const v of evaluateRules({ spendTodayUsd: spend.spentUsd }, deps.rules)) {
      if (v.firing) {
        const r = await applyVerdict(deps, v, now);
        if (r.dispatch) dispatches.push(r.dispatch);
      }
    }
  }
  await dispatchAll(deps, dispatches);
}

export async function evaluateAll(deps: EvaluatorDeps, now = new Date()): Promise<EvaluationSummary> {
  const summary: EvaluationSummary = { crossings: 0, triggered: 0, reminded: 0, resolved: 0, redispatched: 0, switchesActivated: 0, switchesLifted: [] };
  const dispatches: AlertDispatchInput[] = [];
  const readBudgets = () => budgetsWithSpend(deps.prisma, now);
  let budgets;
  if (deps.temporal) {
    const r = await liftRolledOverSwitches({ temporal: deps.temporal, prisma: deps.prisma }, deps.taskQueue, readBudgets);
    budgets = r.budgets;
    summary.switchesLifted = r.lifted;
  } else budgets = await readBudgets();

  const crossings = await recordCrossings(deps.prisma, deps.taskQueue, budgets, now);
  summary.crossings = crossings.length;
  dispatches.push(...crossings.map(crossingDispatch));

  // HARD crossings of a current period whose switch a crash left unpressed (never re-pressed once
  // pressed). One a dispatch is still pressing is claimed; activateCrossingSwitch leaves it alone.
  if (deps.temporal) {
    const pending = await deps.prisma.budgetCrossing.findMany({
      where: {
        level: 'HARD',
        switchActivatedAt: null,
        createdAt: { lt: new Date(now.getTime() - REDISPATCH_AFTER_MS), gt: new Date(now.getTime() - 32 * 24 * 3600_000) },
        budget: { enabled: true },
        ...claimable(now),
      },
      include: { budget: { select: { period: true } } },
    });
    for (const c of pending.filter((c) => periodBounds(c.budget.period, now).start.getTime() === c.periodStart.getTime())) {
      if ((await activateCrossingSwitch(deps.prisma, deps.temporal, deps.taskQueue, c.id)).activated) summary.switchesActivated += 1;
    }
  }

  // Budget alerts end with their period.
  for (const a of await deps.prisma.alert.findMany({ where: { source: deps.taskQueue, status: 'ACTIVE', expiresAt: { lte: now } }, select: { id: true } })) {
    const r = await resolveAlert(deps.prisma, a.id, 'alert-evaluator: budget period ended', now);
    if (r) {
      summary.resolved += 1;
      dispatches.push({ alertId: r.id, action: 'resolve', round: r.notifyRound });
    }
  }

  for (const v of evaluateRules(await readRuleMetrics(deps.prisma, deps.rules, now), deps.rules)) {
    const r = await applyVerdict(deps, v, now);
    if (r.resolved) summary.resolved += 1;
    if (r.reminded) summary.reminded += 1;
    if (r.dispatch) dispatches.push(r.dispatch);
  }
  summary.triggered = dispatches.filter((d) => d.action === 'trigger').length - summary.reminded;

  // Deliveries a crash interrupted. A delivery still running makes its dispatch a no-op (same
  // workflow id), and one that completed has marked itself delivered, so no age filter is needed.
  if (deps.temporal) {
    const wanted = new Set(dispatches.map((d) => d.alertId));
    const undelivered = await deps.prisma.alert.findMany({
      where: {
        source: deps.taskQueue,
        OR: [
          { status: 'ACTIVE', deliveredRound: { lt: deps.prisma.alert.fields.notifyRound } },
          { status: 'RESOLVED', resolveDeliveredAt: null, resolvedAt: { gt: new Date(now.getTime() - 24 * 3600_000) } },
        ],
      },
    });
    for (const a of undelivered.filter((a) => !wanted.has(a.id))) {
      dispatches.push(
        a.status === 'ACTIVE' ? { alertId: a.id, action: 'trigger', round: a.notifyRound } : { alertId: a.id, action: 'resolve', round: a.notifyRound },
      );
      summary.redispatched += 1;
    }
  }
  await dispatchAll(deps, dispatches);
  return summary;
}
