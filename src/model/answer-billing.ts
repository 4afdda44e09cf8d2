/**
 * What the provider's answer costs, as a ledger row sees it: shared by the agent's model calls and
 * the triage calls, so both are priced and recorded the same way.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { Prisma } from '../db/prisma.js';
import { costUnits, unitsToUsdString, type TokenUsage } from '../domain/fix/pricing.js';

export function usageOf(u: Anthropic.Usage): TokenUsage {
  return {
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    cacheCreationTokens: u.cache_creation_input_tokens ?? 0,
    cacheReadTokens: u.cache_read_input_tokens ?? 0,
  };
}

/** The answer's usage, price and provider request id: the ledger row's fields that come from it. */
export function billedFields(response: Anthropic.Message) {
  const usage = usageOf(response.usage);
  const units = costUnits(response.model, usage);
  return {
    units,
    row: {
      model: response.model,
      ...usage,
      costUsd: new Prisma.Decimal(unitsToUsdString(units)),
      providerRequestId: (response as { _request_id?: string | null })._request_id ?? null,
    },
  };
}
