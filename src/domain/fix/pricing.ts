/**
 * Model pricing, per million tokens, in US cents so all arithmetic stays in integers.
 * Cost is computed in units of 1e-8 USD (tokens × cents/MTok) and rendered as an exact decimal
 * string for the ledger's Decimal column. Pure: used by the workflow and by activities.
 */
export interface ModelPrice {
  /** cents per million tokens */
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
}

export const ZERO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0 };

/**
 * Anthropic list prices (USD per MTok × 100; cache write = 5-minute cache, 1.25× input; cache read
 * 0.1× input). An unknown model is charged at the most expensive row so a budget can only err on
 * the safe side. Family keys (`claude-sonnet-4`, `claude-opus-4`) price the snapshot ids the API
 * answers with for aliases such as `claude-sonnet-4-0` (`claude-sonnet-4-20250514`); the longest
 * matching key wins, so `claude-sonnet-4-5-…` still gets its own row.
 */
export const PRICE_TABLE: Readonly<Record<string, ModelPrice>> = {
  'claude-fable-5-1': { input: 1000, output: 5000, cacheWrite: 1250, cacheRead: 100 },
  'claude-sonnet-5-5': { input: 200, output: 1000, cacheWrite: 250, cacheRead: 20 },
  'claude-sonnet-5': { input: 200, output: 1000, cacheWrite: 250, cacheRead: 20 },
  'claude-sonnet-4-6': { input: 300, output: 1500, cacheWrite: 375, cacheRead: 30 },
  'claude-opus-4-6': { input: 500, output: 2500, cacheWrite: 625, cacheRead: 50 },
  'claude-opus-4-1': { input: 1500, output: 7500, cacheWrite: 1875, cacheRead: 150 },
  'claude-opus-4-5': { input: 500, output: 2500, cacheWrite: 625, cacheRead: 50 },
  'claude-sonnet-4-5': { input: 300, output: 1500, cacheWrite: 375, cacheRead: 30 },
  'claude-sonnet-4-0': { input: 300, output: 1500, cacheWrite: 375, cacheRead: 30 },
  'claude-sonnet-4': { input: 300, output: 1500, cacheWrite: 375, cacheRead: 30 },
  'claude-opus-4': { input: 1500, output: 7500, cacheWrite: 1875, cacheRead: 150 },
  'claude-haiku-4-5': { input: 100, output: 500, cacheWrite: 125, cacheRead: 10 },
  'claude-3-5-haiku': { input: 80, output: 400, cacheWrite: 100, cacheRead: 8 },
};

const FALLBACK_PRICE = PRICE_TABLE['claude-opus-4-1']!;

/** Matches dated ids such as `claude-sonnet-4-5-20250929` to their family's price. */
export function priceFor(model: string): ModelPrice {
  const exact = PRICE_TABLE[model];
  if (exact) return exact;
  const family = Object.keys(PRICE_TABLE)
    .filter((k) => model.startsWith(`${k}-`))
    .sort((a, b) => b.length - a.length)[0];
  return family ? PRICE_TABLE[family]! : FALLBACK_PRICE;
}

/** Cost in 1e-8 USD; integers add exactly across a whole fix. */
export function costUnits(model: string, usage: TokenUsage): number {
  const p = priceFor(model);
  return usage.inputTokens * p.input + usage.outputTokens * p.output + usage.cacheCreationTokens * p.cacheWrite + usage.cacheReadTokens * p.cacheRead;
}

export const COST_UNITS_PER_USD = 100_000_000;

/** Exact decimal string with 8 places, e.g. "0.01234500". */
export function unitsToUsdString(units: number): string {
  const whole = Math.floor(units / COST_UNITS_PER_USD);
  const frac = String(units % COST_UNITS_PER_USD).padStart(8, '0');
  return `${whole}.${frac}`;
}

export function unitsToUsd(units: number): number {
  return units / COST_UNITS_PER_USD;
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheCreationTokens: a.cacheCreationTokens + b.cacheCreationTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
  };
}

export function totalTokens(u: TokenUsage): number {
  return u.inputTokens + u.outputTokens + u.cacheCreationTokens + u.cacheReadTokens;
}
