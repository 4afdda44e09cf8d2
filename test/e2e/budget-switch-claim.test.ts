/**
 * Pressing a budget's kill switch once per HARD crossing, through a real worker and safety
 * controller: the dispatch's press, its retries and the evaluator's catch-up each claim the
 * crossing first, so only one presses; once pressed, an admin's lift stands; a claim whose presser
 * crashed expires and is taken over.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { activateCrossingSwitch, SWITCH_CLAIM_MS } from '../../src/alerts/budget-switch.js';
import { Prisma } from '../../src/db/prisma.js';
import { safetyControllerId } from '../../src/domain/organisation/kill-switch.js';
import { BUDGET_PRESS_TIMEOUT_MS, periodBounds } from '../../src/domain/organisation/org-budget.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { deactivateKillSwitch, readSwitchesMemo, UPDATE_DEADLINE_MS } from '../../src/safety/kill-switch-client.js';
import { taskQueues } from '../../temporal.config.js';

describe("pressing a crossing's budget switch", () => {
  let stack: Stack;
  const queue = taskQueues.main;
  const suffix = randomUUID().slice(0, 8);
  const key = `claim-${suffix}`;
  const scope = `budget:${key}`;
  let budgetId: string;
  let day = 0;

  beforeAll(async () => {
    stack = await startStack({ script: () => [{ type: 'text', text: 'unused' }], temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
    const project = await upsertProject(stack.prisma, { key, name: key, repoOwner: 'acme', repoName: key });
    // Disabled: evaluators of other test files sharing this database leave it alone.
    budgetId = (
      await stack.prisma.orgBudget.create({
        data: { name: `claim ${suffix}`, projectId: project.id, period: 'DAY', limitUsd: new Prisma.Decimal(1), enabled: false },
      })
    ).id;
  });

  afterAll(async () => {
    if (!stack) return;
    await stack.temporal.workflow
      .getHandle(safetyControllerId(queue))
      .terminate('test over')
      .catch(() => undefined);
    await stack.prisma.safetyEvent.deleteMany({ where: { workflowId: safetyControllerId(queue) } });
    await stack.prisma.project.deleteMany({ where: { key } });
    await stack.stop();
  });

  /** A HARD crossing no one has pressed yet, in a period of its own. */
  async function crossing(data: Partial<Prisma.BudgetCrossingUncheckedCreateInput> = {}): Promise<string> {
    day += 1;
    const periodStart = periodBounds('DAY', new Date(Date.UTC(2020, 0, day))).start;
    return (
      await stack.prisma.budgetCrossing.create({
        data: { budgetId, periodStart, level: 'HARD', spentUsd: new Prisma.Decimal(1), limitUsd: new Prisma.Decimal(1), ...data },
      })
    ).id;
  }
  const press = (id: string) => activateCrossingSwitch(stack.prisma, stack.temporal, queue, id);
  const pressedAt = async (id: string) => (await stack.prisma.budgetCrossing.findUniqueOrThrow({ where: { id } })).switchActivatedAt;
  /** The controller records each activation it performs. */
  const activations = () =>
    stack.prisma.safetyEvent.count({
      where: { kind: 'kill-switch-activated', workflowId: safetyControllerId(queue), message: { startsWith: `kill switch ${scope} ` } },
    });
  const isOn = async () => ((await readSwitchesMemo(stack.temporal, queue)) ?? []).some((s) => s.scope === scope);
  const lift = () => deactivateKillSwitch(stack, queue, { scope, reason: 'approved overspend', actor: 'admin:test' });

  test('two pressers at once (the dispatch and the catch-up): one presses; once pressed, an admin lift stands', async () => {
    const id = await crossing();
    const results = await Promise.all([press(id), press(id), press(id)]);
    expect(results.filter((r) => r.activated)).toEqual([{ scope, activated: true }]);
    expect(await pressedAt(id)).toBeInstanceOf(Date);
    expect(await isOn()).toBe(true);
    expect(await activations()).toBe(1);

    await lift();
    expect(await press(id)).toEqual({ scope, activated: false });
    expect(await isOn()).toBe(false);
    expect(await activations()).toBe(1);
  });

  test('a live claim is left to its presser; one whose presser crashed expires and is taken over', async () => {
    const live = await crossing({ switchClaimedUntil: new Date(Date.now() + 60_000) });
    expect(await press(live)).toEqual({ scope, activated: false });
    expect(await isOn()).toBe(false);
    const stale = await crossing({ switchClaimedUntil: new Date(Date.now() - 1) });
    expect(await press(stale)).toEqual({ scope, activated: true });
    expect(await isOn()).toBe(true);
    await lift();
  });

  test("the press outlives the controller update's deadline, and a claim outlives the press", () => {
    expect(BUDGET_PRESS_TIMEOUT_MS).toBeGreaterThan(UPDATE_DEADLINE_MS);
    expect(SWITCH_CLAIM_MS).toBeGreaterThan(BUDGET_PRESS_TIMEOUT_MS);
  });
});
