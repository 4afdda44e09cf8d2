/**
 * A pull request's budget in dollars over its fix and all its follow-up rounds (pure). A round may
 * spend what its per-fix budget allows, but never more than the PR has left; a PR whose budget
 * is spent gets no round.
 */
export type RoundBudget = { skip: string } | { maxCostUsd: number };

/** Below this a round could not afford one model call: it is refused rather than started to fail. */
const MIN_ROUND_USD = 0.01;

export function roundBudget(args: { spentUsd: number; maxPerPrUsd: number; perFixUsd: number }): RoundBudget {
  const left = args.maxPerPrUsd - args.spentUsd;
  if (left < MIN_ROUND_USD) return { skip: `pull request budget spent ($${args.spentUsd.toFixed(2)} of $${args.maxPerPrUsd.toFixed(2)}): no round` };
  // Cents, rounded down: the cap shown in the status is what the ledger can still take.
  return { maxCostUsd: Math.min(args.perFixUsd, Math.floor(left * 100) / 100) };
}
