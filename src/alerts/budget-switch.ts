/**
 * Budget kill switches: pressed by a HARD crossing through the safety controller, lifted by the
 * evaluator once no budget of that scope is at its hard limit any more (the period rolled over,
 * the limit was raised, the budget was disabled or deleted). An admin may lift one earlier; a
 * crossing presses its switch once, so the evaluator never presses it again in that period.
 */
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../db/prisma.js';
import { BUDGET_ACTOR, budgetScope, crossedLevels, type BudgetPeriod } from '../domain/org-budget.js';
import type { KillSwitch } from '../domain/kill-switch.js';
import { activateKillSwitch, deactivateKillSwitch, readSwitchesMemo } from '../safety/kill-switch-client.js';
import type { BudgetWithSpend } from './budget-spend.js';

export async function activateCrossingSwitch(prisma: PrismaClient, temporal: Client, taskQueue: string, crossingId: string): Promise<{ scope: string; activated: boolean }> {
  const c = await prisma.budgetCrossing.findUnique({ where: { id: crossingId }, include: { budget: { include: { project: { select: { key: true } } } } } });
  if (!c || c.level !== 'HARD') return { scope: '', activated: false };
  const scope = budgetScope(c.budget.project?.key ?? null);
  if (c.switchActivatedAt) return { scope, activated: false };
  const period = c.budget.period.toLowerCase() as Lowercase<BudgetPeriod>;
  await activateKillSwitch(temporal, taskQueue, {
    scope,
    actor: BUDGET_ACTOR,
    reason: `budget "${c.budget.name}" reached its hard limit ($${Number(c.spentUsd).toFixed(2)} of $${Number(c.limitUsd).toFixed(2)} this ${period}); lifted when the period ends`,
  });
  await prisma.budgetCrossing.update({ where: { id: crossingId }, data: { switchActivatedAt: new Date() } });
  return { scope, activated: true };
}

/** The budget switches to lift: pressed by the evaluator, and no enabled budget of their scope is at its hard limit now. */
export function switchesToLift(switches: readonly KillSwitch[], budgets: readonly BudgetWithSpend[]): KillSwitch[] {
  return switches.filter((s) => {
    if (s.actor !== BUDGET_ACTOR || !(s.scope === 'budget' || s.scope.startsWith('budget:'))) return false;
    return !budgets.some((b) => budgetScope(b.projectKey) === s.scope && crossedLevels(b.spentUsd, b.limitUsd, b).includes('HARD'));
  });
}

/**
 * Lifts what switchesToLift names. The switches are read before the budgets (readBudgets): a
 * switch pressed after that read belongs to spend the read already sees, so it is never lifted
 * by mistake.
 */
export async function liftRolledOverSwitches(temporal: Client, taskQueue: string, readBudgets: () => Promise<BudgetWithSpend[]>): Promise<{ lifted: string[]; budgets: BudgetWithSpend[] }> {
  const switches = (await readSwitchesMemo(temporal, taskQueue)) ?? [];
  const budgets = await readBudgets();
  const lifted: string[] = [];
  for (const s of switchesToLift(switches, budgets)) {
    await deactivateKillSwitch(temporal, taskQueue, { scope: s.scope, actor: BUDGET_ACTOR, reason: 'no budget of this scope is at its hard limit any more (period rolled over, limit raised or budget removed)' }).then(
      () => lifted.push(s.scope),
      // Lifted by an admin in the meantime: nothing left to do.
      (err: unknown) => { if (!/no kill switch .* is active/.test(String((err as Error).message))) throw err; },
    );
  }
  return { lifted, budgets };
}
