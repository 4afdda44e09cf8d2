/**
 * Budget kill switches: pressed by a HARD crossing through the safety controller, lifted by the
 * evaluator once no budget of that scope is at its hard limit any more (the period rolled over,
 * the limit was raised, the budget was disabled or deleted). An admin may lift one earlier; a
 * crossing presses its switch once, so the evaluator never presses it again in that period
 * (unless the budget is changed: changeBudget clears the period's crossings). Only the evaluator
 * presses these scopes (people are refused: kill-switch-control.ts), so its actor on the switch
 * is what tells the evaluator the switch is its own to lift.
 */
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../db/prisma.js';
import { BUDGET_ACTOR, BUDGET_PRESS_TIMEOUT_MS, budgetScope, crossedLevels, isBudgetScope, type BudgetPeriod } from '../domain/organisation/org-budget.js';
import type { KillSwitch } from '../domain/organisation/kill-switch.js';
import { FixError } from '../fixes/fix-errors.js';
import { activateKillSwitch, deactivateKillSwitch, readActiveSwitches, type SafetyClients } from '../safety/kill-switch-client.js';
import type { BudgetWithSpend } from './budget-spend.js';

/** How long a presser holds a crossing: past the press activity's time limit, so it cannot expire while that press may still land. */
export const SWITCH_CLAIM_MS = BUDGET_PRESS_TIMEOUT_MS + 30_000;

/**
 * Presses a HARD crossing's switch at most once. The dispatch's press (and its retries) and the
 * evaluator's catch-up for unpressed crossings may run at the same time: each first claims the
 * crossing (one conditional update), and only the one that got it presses. Once pressed it is
 * never pressed again, so an admin's lift stands. A failed press gives the claim back for the
 * next attempt; a presser that crashed is taken over when its claim expires.
 */
/** Crossings no presser holds now: never claimed, or claimed by one whose lease ran out. */
export const claimable = (now: Date) => ({ OR: [{ switchClaimedUntil: null }, { switchClaimedUntil: { lt: now } }] });

export async function activateCrossingSwitch(
  prisma: PrismaClient,
  temporal: Client,
  taskQueue: string,
  crossingId: string,
): Promise<{ scope: string; activated: boolean }> {
  const c = await prisma.budgetCrossing.findUnique({ where: { id: crossingId }, include: { budget: { include: { project: { select: { key: true } } } } } });
  if (!c || c.level !== 'HARD') return { scope: '', activated: false };
  const scope = budgetScope(c.budget.project?.key ?? null);
  const claimedUntil = new Date(Date.now() + SWITCH_CLAIM_MS);
  const { count } = await prisma.budgetCrossing.updateMany({
    where: { id: crossingId, switchActivatedAt: null, ...claimable(new Date()) },
    data: { switchClaimedUntil: claimedUntil },
  });
  if (count === 0) return { scope, activated: false };
  const period = c.budget.period.toLowerCase() as Lowercase<BudgetPeriod>;
  try {
    await activateKillSwitch({ temporal, prisma }, taskQueue, {
      scope,
      actor: BUDGET_ACTOR,
      reason: `budget "${c.budget.name}" reached its hard limit ($${Number(c.spentUsd).toFixed(2)} of $${Number(c.limitUsd).toFixed(2)} this ${period}); lifted when the period ends`,
    });
  } catch (err) {
    if (!(await setDespiteTimeout({ temporal, prisma }, taskQueue, scope, err))) {
      await prisma.budgetCrossing.updateMany({ where: { id: crossingId, switchClaimedUntil: claimedUntil }, data: { switchClaimedUntil: null } });
      throw err;
    }
  }
  // updateMany: an admin's change to the budget may have cleared the crossing meanwhile.
  await prisma.budgetCrossing.updateMany({ where: { id: crossingId }, data: { switchActivatedAt: new Date() } });
  return { scope, activated: true };
}

/**
 * The update's deadline passed while the controller was fanning out the kill: the switch is
 * stored before the controller is told (and set there before the fan-out), so a budget switch
 * among the active ones means pressed. Pressing again instead could come after an admin lifted it.
 */
async function setDespiteTimeout(c: SafetyClients, taskQueue: string, scope: string, err: unknown): Promise<boolean> {
  if (!(err instanceof FixError && err.kind === 'timeout')) return false;
  const switches = await readActiveSwitches(c, taskQueue).catch(() => null);
  return switches?.some((s) => s.scope === scope && s.actor === BUDGET_ACTOR) ?? false;
}

/** The budget switches to lift: pressed by the evaluator, and no enabled budget of their scope is at its hard limit now. */
export function switchesToLift(switches: readonly KillSwitch[], budgets: readonly BudgetWithSpend[]): KillSwitch[] {
  return switches.filter((s) => {
    if (s.actor !== BUDGET_ACTOR || !isBudgetScope(s.scope)) return false;
    return !budgets.some((b) => budgetScope(b.projectKey) === s.scope && crossedLevels(b.spentUsd, b.limitUsd, b).includes('HARD'));
  });
}

/**
 * Lifts what switchesToLift names. The switches are read before the budgets (readBudgets): a
 * switch pressed after that read belongs to spend the read already sees, so it is never lifted
 * by mistake.
 */
export async function liftRolledOverSwitches(
  c: SafetyClients,
  taskQueue: string,
  readBudgets: () => Promise<BudgetWithSpend[]>,
): Promise<{ lifted: string[]; budgets: BudgetWithSpend[] }> {
  const switches = await readActiveSwitches(c, taskQueue);
  const budgets = await readBudgets();
  const lifted: string[] = [];
  for (const s of switchesToLift(switches, budgets)) {
    await deactivateKillSwitch(c, taskQueue, {
      scope: s.scope,
      actor: BUDGET_ACTOR,
      reason: 'no budget of this scope is at its hard limit any more (period rolled over, limit raised or budget removed)',
    }).then(
      () => lifted.push(s.scope),
      // Lifted by an admin in the meantime: nothing left to do.
      (err: unknown) => {
        if (!/no kill switch .* is active/.test(String((err as Error).message))) throw err;
      },
    );
  }
  return { lifted, budgets };
}
