/** Pure rules of organisation budgets and alerts: periods, crossings, rules, dedupe, routing. */
import { describe, expect, test } from 'vitest';
import { activeKeyOf, alertAction, alertDeliveryKey, channelsFor, DEFAULT_RULE_SETTINGS, evaluateRules } from '../../src/domain/organisation/alert-rules.js';
import { budgetScope, crossedLevels, DEFAULT_THRESHOLDS, percentOf, periodBounds, thresholdProblem } from '../../src/domain/organisation/org-budget.js';
import { killSwitchOnSchema, killSwitchSchema } from '../../src/safety/kill-switch-control.js';
import { switchesToLift } from '../../src/alerts/budget-switch.js';
import type { BudgetWithSpend } from '../../src/alerts/budget-spend.js';

const iso = (d: Date) => d.toISOString();

describe('budget periods (UTC)', () => {
  const at = new Date('2026-03-04T23:59:59.999Z'); // a Wednesday
  test('a day runs from 00:00 to the next 00:00 UTC', () => {
    const p = periodBounds('DAY', at);
    expect([iso(p.start), iso(p.end)]).toEqual(['2026-03-04T00:00:00.000Z', '2026-03-05T00:00:00.000Z']);
  });
  test('a week starts on Monday, also when `at` is a Sunday or a Monday', () => {
    expect(iso(periodBounds('WEEK', at).start)).toBe('2026-03-02T00:00:00.000Z');
    expect(iso(periodBounds('WEEK', new Date('2026-03-08T12:00:00Z')).start)).toBe('2026-03-02T00:00:00.000Z');
    expect(iso(periodBounds('WEEK', new Date('2026-03-09T00:00:00Z')).start)).toBe('2026-03-09T00:00:00.000Z');
    expect(iso(periodBounds('WEEK', at).end)).toBe('2026-03-09T00:00:00.000Z');
  });
  test('a month ends at the first of the next, across the year end and in February', () => {
    const dec = periodBounds('MONTH', new Date('2026-12-31T23:00:00Z'));
    expect([iso(dec.start), iso(dec.end)]).toEqual(['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
    expect(iso(periodBounds('MONTH', new Date('2028-02-29T10:00:00Z')).end)).toBe('2028-03-01T00:00:00.000Z');
  });
  test('the next period starts where the last ended', () => {
    for (const p of ['DAY', 'WEEK', 'MONTH'] as const) {
      const a = periodBounds(p, at);
      expect(iso(periodBounds(p, a.end).start)).toBe(iso(a.end));
      expect(iso(periodBounds(p, new Date(a.end.getTime() - 1)).start)).toBe(iso(a.start));
    }
  });
});

describe('crossings', () => {
  test('levels are crossed at their threshold, several at once when one call jumps them', () => {
    expect(crossedLevels(79.99, 100, DEFAULT_THRESHOLDS)).toEqual([]);
    expect(crossedLevels(80, 100, DEFAULT_THRESHOLDS)).toEqual(['WARN']);
    expect(crossedLevels(95, 100, DEFAULT_THRESHOLDS)).toEqual(['WARN', 'CRITICAL']);
    expect(crossedLevels(100, 100, DEFAULT_THRESHOLDS)).toEqual(['WARN', 'CRITICAL', 'HARD']);
    expect(crossedLevels(0.5, 1, { warnPct: 50, criticalPct: 60, hardPct: 120 })).toEqual(['WARN']);
  });
  test('a $0 limit (a sub-cent limit stored before it was refused) is not crossed by $0 spent', () => {
    expect(percentOf(0, 0)).toBe(0);
    expect(crossedLevels(0, 0, DEFAULT_THRESHOLDS)).toEqual([]);
    expect(crossedLevels(0.01, 0, DEFAULT_THRESHOLDS)).toEqual(['WARN', 'CRITICAL', 'HARD']);
  });
  test('thresholds must rise with the level', () => {
    expect(thresholdProblem(DEFAULT_THRESHOLDS)).toBeNull();
    expect(thresholdProblem({ warnPct: 96, criticalPct: 95, hardPct: 100 })).toMatch(/warnPct/);
    expect(thresholdProblem({ warnPct: 80, criticalPct: 101, hardPct: 100 })).toMatch(/criticalPct/);
    expect(thresholdProblem({ warnPct: 0, criticalPct: 1, hardPct: 2 })).toMatch(/above 0/);
  });
  test('a global budget stops everything under `budget`, a project budget under budget:<key>', () => {
    expect(budgetScope(null)).toBe('budget');
    expect(budgetScope('shop')).toBe('budget:shop');
  });
});

describe('lifting budget switches', () => {
  const budget = (projectKey: string | null, spentUsd: number): BudgetWithSpend => ({
    id: 'b',
    name: 'b',
    projectId: null,
    projectKey,
    period: 'DAY',
    limitUsd: 10,
    spentUsd,
    enabled: true,
    periodStart: new Date(0),
    periodEnd: new Date(1),
    crossed: [],
    ...DEFAULT_THRESHOLDS,
  });
  const sw = (scope: string, actor = 'budget-evaluator') => ({ scope, actor, reason: 'r', activatedAt: '' }) as never;
  test('a switch stays while a budget of its scope is at its hard limit, and goes when none is', () => {
    expect(switchesToLift([sw('budget:shop')], [budget('shop', 10)])).toEqual([]);
    expect(switchesToLift([sw('budget:shop')], [budget('shop', 0)])).toHaveLength(1);
    expect(switchesToLift([sw('budget:shop')], [])).toHaveLength(1); // budget deleted or disabled
    expect(switchesToLift([sw('budget')], [budget('shop', 10)])).toHaveLength(1); // a project's spend is not the organisation's stop
    expect(switchesToLift([sw('budget')], [budget(null, 10)])).toEqual([]);
  });
  test("operators' switches and budget switches someone else pressed are never lifted", () => {
    expect(switchesToLift([sw('project:shop'), sw('global'), sw('budget:shop', 'admin:ops')], [])).toEqual([]);
  });
});

describe('who presses budget switches', () => {
  test('people press global and project:<key>; budget and budget:<key> are refused on, accepted off', () => {
    for (const scope of ['global', 'project:shop']) expect(killSwitchOnSchema.safeParse({ scope, reason: 'r' }).success, scope).toBe(true);
    for (const scope of ['budget', 'budget:shop']) {
      const on = killSwitchOnSchema.safeParse({ scope, reason: 'r' });
      expect(on.success, scope).toBe(false);
      expect(on.error?.issues[0]?.message).toMatch(/pressed only by the budget evaluator/);
      expect(killSwitchSchema.safeParse({ scope, reason: 'r' }).success, scope).toBe(true);
    }
  });
});

describe('alert rules', () => {
  const s = DEFAULT_RULE_SETTINGS;
  test('defaults follow the original design', () => {
    expect(s).toMatchObject({
      failureRatePct: 50,
      failureWindowMinutes: 60,
      queueBackupMinutes: 15,
      tokensPerFix: 100_000,
      dailySpendUsd: 100,
      dedupeWindowMinutes: 30,
    });
  });
  test('each rule fires above its threshold only', () => {
    const firing = (m: Parameters<typeof evaluateRules>[0]) =>
      evaluateRules(m, s)
        .filter((v) => v.firing)
        .map((v) => v.rule);
    expect(firing({ finished: { failed: 3, total: 5 } })).toEqual(['high_failure_rate']);
    expect(firing({ finished: { failed: 2, total: 4 } })).toEqual([]); // 50 % is not above 50 %
    expect(firing({ finished: { failed: 2, total: 2 } })).toEqual([]); // too few fixes to speak of a rate
    expect(firing({ queuedTooLong: 1 })).toEqual(['queue_backup']);
    expect(firing({ queuedTooLong: 0 })).toEqual([]);
    expect(firing({ tokens: { fixes: 2, tokens: 200_002 } })).toEqual(['high_token_usage']);
    expect(firing({ tokens: { fixes: 0, tokens: 0 } })).toEqual([]);
    expect(firing({ spendTodayUsd: 100.01 })).toEqual(['daily_spend']);
    expect(firing({ spendTodayUsd: 100 })).toEqual([]);
  });
  test('absent metrics are not judged (a spend event reads only spend)', () => {
    expect(evaluateRules({ spendTodayUsd: 1 }, s).map((v) => v.rule)).toEqual(['daily_spend']);
  });
});

describe('alert dedupe', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const window = 30 * 60_000;
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
  test('new → create; active → update within the window, one reminder after it', () => {
    expect(alertAction(null, now, window)).toBe('create');
    expect(alertAction({ notifyRound: 1, deliveredRound: 1, notifiedAt: minutesAgo(29) }, now, window)).toBe('update');
    expect(alertAction({ notifyRound: 1, deliveredRound: 1, notifiedAt: minutesAgo(30) }, now, window)).toBe('remind');
  });
  test('no reminder while the last round is still being delivered', () => {
    expect(alertAction({ notifyRound: 2, deliveredRound: 1, notifiedAt: minutesAgo(90) }, now, window)).toBe('update');
    expect(alertAction({ notifyRound: 1, deliveredRound: 0, notifiedAt: null }, now, window)).toBe('update');
  });
  test('keys: one active alert per deployment and key; one delivery per round and channel', () => {
    expect(activeKeyOf('bugfix', 'rule:queue_backup')).not.toBe(activeKeyOf('bugfix-staging', 'rule:queue_backup'));
    expect(alertDeliveryKey('a', 'trigger', 1, 'slack')).not.toBe(alertDeliveryKey('a', 'trigger', 2, 'slack'));
    expect(alertDeliveryKey('a', 'resolve', 1, 'pagerduty')).toBe(alertDeliveryKey('a', 'resolve', 2, 'pagerduty'));
  });
});

describe('alert routing', () => {
  const all = { slack: true, email: true, webhook: true, pagerduty: true };
  test('every configured channel; PagerDuty from its minimum severity', () => {
    expect(channelsFor('warning', all, 'critical')).toEqual(['slack', 'email', 'webhook']);
    expect(channelsFor('critical', all, 'critical')).toEqual(['slack', 'email', 'webhook', 'pagerduty']);
    expect(channelsFor('warning', all, 'warning')).toContain('pagerduty');
    expect(channelsFor('critical', { ...all, slack: false, email: false }, 'critical')).toEqual(['webhook', 'pagerduty']);
  });
});
