import { describe, expect, test } from 'vitest';
import { callBudgetLeft, exhaustedBudget, outputAllowance, validateBudgetRaise } from '../../src/domain/fix/budgets.js';
import { diffGateViolations, parseNumstatZ } from '../../src/domain/fix/diff-gate.js';
import { elisionBoundary, ELIDE_BATCH_TURNS, KEEP_RECENT_TURNS } from '../../src/domain/agent/elide.js';
import { DEFAULT_BUDGETS } from '../../src/domain/fix/fix.js';
import { eventOf, notificationKey, noticeText } from '../../src/domain/fix/notification.js';
import { priceFor, ZERO_USAGE } from '../../src/domain/fix/pricing.js';

const spent = { iterations: 3, tokens: 1000, costUsd: 0.5, elapsedMs: 60_000 };

describe('budgets', () => {
  test('each budget kind has its own reason', () => {
    expect(exhaustedBudget(DEFAULT_BUDGETS, spent)).toBeNull();
    expect(exhaustedBudget({ ...DEFAULT_BUDGETS, maxIterations: 3 }, spent)).toBe('iteration budget exhausted (3)');
    expect(exhaustedBudget({ ...DEFAULT_BUDGETS, maxTokens: 999 }, spent)).toBe('token budget exhausted (1000 of 999)');
    expect(exhaustedBudget({ ...DEFAULT_BUDGETS, maxCostUsd: 0.5 }, spent)).toBe('cost budget exhausted ($0.5000 of $0.5)');
    expect(exhaustedBudget({ ...DEFAULT_BUDGETS, maxDurationMs: 60_000 }, spent)).toBe('time budget exhausted (60 s)');
  });

  test("a model call's max_tokens is what the tokens and dollars left allow after its prompt, or the fix stops", () => {
    const sonnet = priceFor('claude-sonnet-5-5'); // 1,000 units (1e-8 USD) per output token
    const left = callBudgetLeft({ ...DEFAULT_BUDGETS, maxTokens: 50_000, maxCostUsd: 1 }, 20_000, 40_000_000);
    expect(left).toEqual({ tokens: 30_000, costUnits: 60_000_000 });
    expect(outputAllowance(16_384, left, sonnet)).toEqual({ maxTokens: 16_384 });
    expect(outputAllowance(16_384, left, sonnet, { tokens: 25_000, costUnits: 0 })).toEqual({ maxTokens: 5000 });
    expect(outputAllowance(16_384, left, sonnet, { tokens: 0, costUnits: 55_000_000 })).toEqual({ maxTokens: 5000 });
    expect(outputAllowance(16_384, left, sonnet, { tokens: 29_000, costUnits: 0 })).toEqual({
      stop: 'token budget exhausted (30000 tokens left; the next model call needs about 29000 for its prompt and 1024 for an answer)',
    });
    expect(outputAllowance(16_384, left, sonnet, { tokens: 1000, costUnits: 59_500_000 })).toEqual({
      stop: 'cost budget exhausted ($0.6000 left; the next model call needs about $0.6052 for its prompt and 1024 output tokens)',
    });
    // A configured maximum under the useful minimum is still worth its call.
    expect(outputAllowance(500, left, sonnet, { tokens: 29_000, costUnits: 0 })).toEqual({ maxTokens: 500 });
  });

  test('a raise may not go below what is spent, be negative, or name nothing', () => {
    expect(() => validateBudgetRaise(DEFAULT_BUDGETS, spent, { maxIterations: 10, maxCostUsd: 1 })).not.toThrow();
    expect(() => validateBudgetRaise(DEFAULT_BUDGETS, spent, { maxIterations: 2 })).toThrow(/below what the fix has already used \(3\)/);
    expect(() => validateBudgetRaise(DEFAULT_BUDGETS, spent, { maxCostUsd: -1 })).toThrow(/non-negative/);
    expect(() => validateBudgetRaise(DEFAULT_BUDGETS, spent, { maxTokens: Number.NaN })).toThrow(/non-negative/);
    expect(() => validateBudgetRaise(DEFAULT_BUDGETS, spent, {})).toThrow(/at least one/);
    expect(() => validateBudgetRaise(DEFAULT_BUDGETS, spent, { bogus: 1 } as never)).toThrow(/unknown budget/);
  });
});

describe('scope gate on the final diff', () => {
  test('parses numstat, renames and binary files included', () => {
    const out = ['3\t1\tsrc/a.js', '-\t-\timg.png', '2\t2\t', 'old/name.js', 'new/name.js', ''].join('\0');
    expect(parseNumstatZ(out)).toEqual([
      { path: 'src/a.js', added: 3, deleted: 1 },
      { path: 'img.png', added: 0, deleted: 0 },
      { path: 'new/name.js', fromPath: 'old/name.js', added: 2, deleted: 2 },
    ]);
  });

  test('a rename or copy out of a forbidden path is refused (both paths are checked)', () => {
    const out = ['0\t0\t', 'config/prod.pem', 'docs/x.txt', ''].join('\0');
    expect(diffGateViolations(parseNumstatZ(out))).toEqual(['changes forbidden paths: config/prod.pem']);
    expect(diffGateViolations(parseNumstatZ(['1\t0\t', 'docs/a.md', 'docs/b.md', ''].join('\0')))).toEqual([]);
  });

  test('refuses forbidden paths, too many files and too many lines', () => {
    expect(diffGateViolations([{ path: 'src/a.js', added: 3, deleted: 1 }])).toEqual([]);
    expect(diffGateViolations([{ path: 'config/.env', added: 1, deleted: 0 }])).toEqual(['changes forbidden paths: config/.env']);
    const many = Array.from({ length: 51 }, (_, i) => ({ path: `f${i}.js`, added: 1, deleted: 0 }));
    expect(diffGateViolations(many)).toEqual(['changes 51 files; at most 50 are allowed']);
    expect(diffGateViolations([{ path: 'a.js', added: 4000, deleted: 1001 }])).toEqual(['changes 5001 lines; at most 5000 are allowed']);
    expect(diffGateViolations([{ path: 'a.js', added: 2, deleted: 0 }], { maxLinesChanged: 1 })).toHaveLength(1);
  });
});

describe('elision', () => {
  test('moves in batches so the cached prefix changes rarely', () => {
    expect(elisionBoundary(KEEP_RECENT_TURNS)).toBe(0);
    expect(elisionBoundary(KEEP_RECENT_TURNS + ELIDE_BATCH_TURNS - 1)).toBe(0);
    expect(elisionBoundary(KEEP_RECENT_TURNS + ELIDE_BATCH_TURNS)).toBe(ELIDE_BATCH_TURNS);
    expect(elisionBoundary(KEEP_RECENT_TURNS + 2 * ELIDE_BATCH_TURNS + 3)).toBe(2 * ELIDE_BATCH_TURNS);
  });
});

describe('notifications', () => {
  const outcome = {
    status: 'failed' as const,
    reason: 'cost budget exhausted',
    iterations: 4,
    usage: ZERO_USAGE,
    costUsd: 1.5,
    validation: [],
    timings: { commandsMs: 0, validationMs: 0 },
  };
  test('one key per fix, event and channel; text says why', () => {
    const notice = {
      event: eventOf(outcome),
      workflowId: 'wf-1',
      bugId: 'b',
      projectId: 'p',
      projectKey: 'shop',
      bugTitle: 'Checkout broken',
      status: outcome.status,
      reason: outcome.reason,
      iterations: 4,
      costUsd: 1.5,
    };
    expect(notice.event).toBe('fix_failed');
    expect(notificationKey(notice, 'slack')).toBe('wf-1:fix_failed:slack');
    expect(notificationKey(notice, 'slack')).not.toBe(notificationKey(notice, 'email'));
    expect(noticeText(notice)).toBe('[shop] Fix failed: Checkout broken\nReason: cost budget exhausted\nIterations: 4, cost: $1.5000');
    expect(eventOf({ ...outcome, status: 'cancelled' })).toBe('fix_stopped');
    expect(eventOf({ ...outcome, status: 'pr_created' })).toBe('pr_opened');
  });
});
