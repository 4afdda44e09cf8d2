/**
 * Condenses a fix's conversation before a model call when the call's prompt would reach its share
 * of the context window: one summarising model call, reserved and priced in the ledger like any
 * call (purpose `condense`), its summary stored (AgentCondensation) before it counts, so a retried
 * attempt finds it and never pays twice. The turns themselves stay in AgentTurn for the audit.
 *
 * The summarising request is the previous turn's own request with the summary asked for at its end:
 * same tools, system and messages, so it reads all of it from the prompt cache, and its prompt is
 * no larger than one already sent (under the limit).
 */
import Anthropic from '@anthropic-ai/sdk';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import { withoutNul } from '../db/jsonb.js';
import { isUniqueViolation, withDbRetry } from '../db/db-retry.js';
import {
  CONDENSE_REQUEST,
  estimateTokens,
  firstKeptTurn,
  nextPromptReachesLimit,
  promptTokens,
  SUMMARY_MAX_TOKENS,
  summaryText,
  type CondenseSettings,
} from '../domain/agent/condense.js';
import { elisionBoundary } from '../domain/agent/elide.js';
import { unitsToUsdString } from '../domain/fix/pricing.js';
import { activityLog } from '../infra/log.js';
import { billedFields, usageOf } from './answer-billing.js';
import { callReservations } from './call-reservations.js';
import { condensationFor, conversationMessages, turnMessages, turnsBefore } from './conversation.js';
import { rejectedForGood } from './rejected-request.js';

export interface CondenseCall {
  prisma: PrismaClient;
  anthropic: Anthropic;
  model: string;
  maxTokens: number;
  settings: CondenseSettings;
  workflowId: string;
  iteration: number;
  bugId: string;
  projectId: string;
  system: Anthropic.TextBlockParam[];
  tools: Anthropic.Tool[];
  firstMessage: string;
  attempt: number;
  signal?: AbortSignal;
}

/** The turn to keep from, when the call of `iteration` should go out condensed and has not been. */
async function dueCondensation(c: CondenseCall) {
  if (await c.prisma.agentCondensation.findUnique({ where: { workflowId_iteration: { workflowId: c.workflowId, iteration: c.iteration } } })) return null;
  if (c.iteration < 3) return null;
  const last = await c.prisma.agentTurn.findUnique({ where: { workflowId_iteration: { workflowId: c.workflowId, iteration: c.iteration - 1 } } });
  if (!last) return null;
  // The previous prompt as the provider counted it, plus the turn it added (recent: never elided).
  // Only the latest turn is read until that reaches the limit: most calls stop here.
  const lastPrompt = promptTokens(usageOf((last.response as unknown as Anthropic.Message).usage));
  if (!nextPromptReachesLimit(lastPrompt, estimateTokens(turnMessages(last, false)), c.settings)) return null;
  const turns = await turnsBefore(c.prisma, c.workflowId, c.iteration);
  const boundary = elisionBoundary(turns.length);
  const sizes = turns.map((t, index) => ({ iteration: t.iteration, tokens: estimateTokens(turnMessages(t, index < boundary)) }));
  const current = await condensationFor(c.prisma, c.workflowId, c.iteration - 1);
  const from = current?.keptFrom ?? 1;
  const keptFrom = firstKeptTurn(
    sizes.filter((s) => s.iteration >= from),
    c.settings,
  );
  // Nothing older than the kept turns left to summarise: the prompt stays as it is.
  if (keptFrom <= from) return null;
  return { keptFrom, lastPrompt, turns, current };
}

/** Condenses when due; true when this attempt wrote ledger rows (its spend is then the ledger's). */
export async function condenseIfDue(c: CondenseCall): Promise<boolean> {
  const due = await dueCondensation(c);
  if (!due) return false;
  // The previous turn's request, exactly (its prefix is cached), with the summary asked for last.
  const messages = conversationMessages(c.firstMessage, due.turns.slice(0, -1), due.current);
  const tail = messages[messages.length - 1]!;
  tail.content = [
    ...(typeof tail.content === 'string' ? [{ type: 'text' as const, text: tail.content }] : tail.content),
    { type: 'text', text: CONDENSE_REQUEST },
  ];

  const call = { workflowId: c.workflowId, iteration: c.iteration, bugId: c.bugId, projectId: c.projectId, model: c.model };
  const reservations = callReservations(c.prisma, { ...call, purpose: 'condense' });
  await reservations.reserve(c.attempt);
  const response = await c.anthropic.messages
    .create(
      { model: c.model, max_tokens: Math.min(c.maxTokens, SUMMARY_MAX_TOKENS), system: c.system, tools: c.tools, messages },
      { signal: c.signal, headers: reservations.requestHeaders(c.attempt) },
    )
    .catch(async (err: unknown) => {
      // An error answer is not billed; an abort or a lost connection may have been.
      const answered = err instanceof Anthropic.APIError && err.status !== undefined;
      await (answered ? reservations.release(c.attempt) : reservations.lose(c.attempt)).catch(() => undefined);
      throw rejectedForGood(err) ?? err;
    });
  const { units, row } = billedFields(response);
  const ledgerRow = (callKey: string) => ({ callKey, ...call, purpose: 'condense', ...row });
  const summary = summaryText(response.content);
  try {
    await withDbRetry(() =>
      c.prisma.$transaction([
        reservations.release(c.attempt),
        c.prisma.agentCondensation.create({
          data: {
            workflowId: c.workflowId,
            iteration: c.iteration,
            keptFrom: due.keptFrom,
            summary: withoutNul(summary),
            response: withoutNul(response) as unknown as Prisma.InputJsonValue,
          },
        }),
        c.prisma.ledgerEntry.create({ data: ledgerRow(`${c.workflowId}#${c.iteration}#condense`) }),
      ]),
    );
  } catch (err) {
    // Another attempt of this call condensed first: its summary is the one used; this answer was billed all the same.
    if (!isUniqueViolation(err)) throw err;
    await withDbRetry(() =>
      c.prisma.$transaction([
        reservations.release(c.attempt),
        c.prisma.ledgerEntry.createMany({
          data: [ledgerRow(`${c.workflowId}#${c.iteration}#condense#${row.providerRequestId ?? response.id}`)],
          skipDuplicates: true,
        }),
      ]),
    );
  }
  activityLog({ bugId: c.bugId }).info(
    { iteration: c.iteration, keptFrom: due.keptFrom, promptTokens: due.lastPrompt, ...usageOf(response.usage), costUsd: unitsToUsdString(units) },
    'conversation condensed',
  );
  return true;
}
