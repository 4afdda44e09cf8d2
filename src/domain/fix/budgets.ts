/** Per-fix budget rules: when a fix must stop, and which raises are acceptable. Pure. */
import type { FixBudgets } from './fix.js';
import { COST_UNITS_PER_USD, type ModelPrice } from './pricing.js';

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

/**
 * The first budget of a raise above the ceiling an operator may raise to, as a readable refusal
 * that names the ceiling; null when every value is within it.
 */
export function raiseAboveCeiling(raise: Partial<FixBudgets>, ceiling: FixBudgets): string | null {
  for (const key of Object.keys(raise) as Array<keyof FixBudgets>) {
    const value = raise[key];
    if (value !== undefined && value > ceiling[key])
      return `${key} ${value} is above the project's ceiling of ${ceiling[key]} for operators: an admin token may raise beyond it, or an admin may raise the project's budgets.operatorMax`;
  }
  return null;
}

/** What a fix may still spend on model calls: tokens, and cost in 1e-8 USD (pricing's units). */
export interface CallBudgetLeft {
  tokens: number;
  costUnits: number;
}

export function callBudgetLeft(b: FixBudgets, tokensSpent: number, costUnitsSpent: number): CallBudgetLeft {
  return { tokens: b.maxTokens - tokensSpent, costUnits: Math.floor(b.maxCostUsd * COST_UNITS_PER_USD) - costUnitsSpent };
}

/**
 * Fewest output tokens a model call is worth making for: a reply cut off shorter rarely holds a
 * whole tool call, and a cut tool call is not run, so the call would be paid for nothing.
 */
export const MIN_USEFUL_OUTPUT_TOKENS = 1024;

/** The next request's prompt as the previous one measured it (nothing for a first call). */
export interface PromptEstimate {
  tokens: number;
  costUnits: number;
}

/**
 * The next call's max_tokens: the configured maximum, lowered so that its prompt (estimated by the
 * previous one) and a full answer stay inside the tokens left and what the dollars left buy at
 * the model's output price; or the reason to stop the fix when less than a useful answer fits.
 */
export function outputAllowance(
  configuredMax: number,
  left: CallBudgetLeft,
  price: ModelPrice,
  prompt: PromptEstimate = { tokens: 0, costUnits: 0 },
): { maxTokens: number } | { stop: string } {
  const byTokens = left.tokens - prompt.tokens;
  // One output token costs `price.output` units (cents per million tokens = 1e-8 USD per token).
  const byCost = Math.floor((left.costUnits - prompt.costUnits) / price.output);
  const useful = Math.min(MIN_USEFUL_OUTPUT_TOKENS, configuredMax);
  const maxTokens = Math.min(configuredMax, byTokens, byCost);
  if (maxTokens >= useful) return { maxTokens };
  if (byTokens < useful) {
    return {
      stop: `token budget exhausted (${left.tokens} tokens left; the next model call needs about ${prompt.tokens} for its prompt and ${useful} for an answer)`,
    };
  }
  const usd = (units: number) => `$${(units / COST_UNITS_PER_USD).toFixed(4)}`;
  return {
    stop: `cost budget exhausted (${usd(left.costUnits)} left; the next model call needs about ${usd(prompt.costUnits + useful * price.output)} for its prompt and ${useful} output tokens)`,
  };
}
