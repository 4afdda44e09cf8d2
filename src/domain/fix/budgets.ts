/** Per-fix budget rules: when a fix must stop, and which raises are acceptable. Pure. */
import type { FixBudgets } from './fix.js';

export interface Spent {
  iterations: number;
  tokens: number;
  costUsd: number;
  elapsedMs: number;
}

/** The reason the next model call may not be made, or null when every budget allows it. */
export function exhaustedBudget(b: FixBudgets, s: Spent): string | null {
  if (s.iterations >= b.maxIterations) return `iteration budget exhausted (${b.maxIterations})`;
  if (s.tokens >= b.maxTokens) return `token budget exhausted (${s.tokens} of ${b.maxTokens})`;
  if (s.costUsd >= b.maxCostUsd) return `cost budget exhausted ($${s.costUsd.toFixed(4)} of $${b.maxCostUsd})`;
  if (s.elapsedMs >= b.maxDurationMs) return timeBudgetReason(b);
  return null;
}

export function timeBudgetReason(b: FixBudgets): string {
  return `time budget exhausted (${Math.round(b.maxDurationMs / 1000)} s)`;
}

const SPENT_FIELD: Partial<Record<keyof FixBudgets, keyof Spent>> = {
  maxIterations: 'iterations',
  maxTokens: 'tokens',
  maxCostUsd: 'costUsd',
  maxDurationMs: 'elapsedMs',
};

/** Throws with a readable reason when a raise is negative, not a number, or below what is spent. */
export function validateBudgetRaise(current: FixBudgets, spent: Spent, raise: Partial<FixBudgets>): void {
  const keys = Object.keys(raise) as Array<keyof FixBudgets>;
  if (keys.length === 0) throw new Error('name at least one budget to raise');
  for (const key of keys) {
    if (!(key in current)) throw new Error(`unknown budget ${String(key)}`);
    const value = raise[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`${key} must be a non-negative number`);
    const spentField = SPENT_FIELD[key];
    if (spentField && value < spent[spentField]) throw new Error(`${key} ${value} is below what the fix has already used (${spent[spentField]})`);
  }
}
