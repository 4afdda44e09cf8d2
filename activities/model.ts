/**
 * callModel: one model turn. The response is stored, keyed by (workflowId, iteration), together
 * with its ledger row BEFORE the activity returns, so a retried attempt or a replay after a crash
 * returns the stored turn and never pays twice. The transcript lives in PostgreSQL; only a small
 * summary goes back into workflow history.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import { AGENT_TOOLS } from '../src/domain/agent/agent-tools.js';
import { COST_UNITS_PER_USD, unitsToUsdString, type TokenUsage } from '../src/domain/fix/pricing.js';
import { billedFields, usageOf } from '../src/model/answer-billing.js';
import { initialMessage, systemPrompt } from '../src/domain/agent/prompt.js';
import { parseEnvironment } from '../src/projects/environment-settings.js';
import type { ValidationCommands } from '../src/domain/fix/fix.js';
import { Prisma, type PrismaClient } from '../src/db/prisma.js';
import { withoutNul } from '../src/db/jsonb.js';
import { callReservations } from '../src/model/call-reservations.js';
import { cancellationSignal, currentAttempt } from '../src/temporal/activity-heartbeat.js';
import { activityLog } from '../src/infra/log.js';
import { elidedNote, elisionBoundary, ELIDE_MIN_CHARS } from '../src/domain/agent/elide.js';

export interface CallModelInput {
  workflowId: string;
  bugId: string;
  iteration: number;
  /** text delivered after the previous turn's tool results (validation feedback, hints) */
  notes: string[];
}

export interface CallModelResult {
  toolCallCount: number;
  /** names of the tools called, for the activity summaries in the Web UI */
  toolNames: string[];
  stopReason: string | null;
  usage: TokenUsage;
  costUnits: number;
  model: string;
  /** first text the model wrote this turn, shortened, for the status query */
  text: string;
}

type MessageParam = Anthropic.MessageParam;
type ContentBlock = Anthropic.ContentBlockParam;

export interface ModelDeps {
  prisma: PrismaClient;
  anthropic: Anthropic;
  model: string;
  maxTokens: number;
  /** budgets and the spend rule, checked after each new ledger row; must not throw (see activities/alerts.ts) */
  onSpend?: (e: { projectId: string }) => Promise<void>;
}

function summarize(response: Anthropic.Message, model: string, units: number): CallModelResult {
  const text = response.content.find((b): b is Anthropic.TextBlock => b.type === 'text')?.text ?? '';
  return {
    toolCallCount: response.content.filter((b) => b.type === 'tool_use').length,
    toolNames: response.content.flatMap((b) => (b.type === 'tool_use' ? [b.name] : [])),
    stopReason: response.stop_reason,
    usage: usageOf(response.usage),
    costUnits: units,
    model,
    text: text.slice(0, 200),
  };
}

/**
 * What an assistant turn with no content is sent back as. Claude may answer `content: []` (an
 * end_turn with nothing to say, a refusal), and the API refuses any later request holding an empty
 * message (400, for good): without this one empty answer would end the fix.
 */
export const EMPTY_REPLY_TEXT = '(no reply)';

/** The API refuses empty and whitespace-only text blocks (400) anywhere but a final assistant message. */
function withoutBlankText(blocks: ContentBlock[]): ContentBlock[] {
  return blocks.filter((b) => b.type !== 'text' || b.text.trim() !== '');
}

/** Marks a message's last block as a prompt-cache breakpoint (a string message has none to mark). */
function markCacheBreakpoint(message: MessageParam): void {
  if (typeof message.content === 'string' || message.content.length === 0) return;
  const blocks = [...message.content];
  blocks[blocks.length - 1] = { ...blocks[blocks.length - 1]!, cache_control: { type: 'ephemeral' } } as ContentBlock;
  message.content = blocks;
}

/** Rebuilds the conversation: first message, then per turn the response and what went back. */
async function buildMessages(prisma: PrismaClient, input: CallModelInput, firstMessage: string): Promise<MessageParam[]> {
  const turns = await prisma.agentTurn.findMany({
    where: { workflowId: input.workflowId, iteration: { lt: input.iteration } },
    orderBy: { iteration: 'asc' },
  });
  const messages: MessageParam[] = [{ role: 'user', content: firstMessage }];
  const boundary = elisionBoundary(turns.length);
  for (const [index, turn] of turns.entries()) {
    const response = turn.response as unknown as Anthropic.Message;
    const said = withoutBlankText(response.content as ContentBlock[]);
    messages.push({ role: 'assistant', content: said.length > 0 ? said : [{ type: 'text', text: EMPTY_REPLY_TEXT }] });
    const results = (turn.followUp as unknown as Anthropic.ToolResultBlockParam[] | null) ?? [];
    const back: ContentBlock[] = index < boundary ? results.map(elideResult) : [...results];
    for (const note of (turn.notes as string[] | null) ?? []) if (note.trim() !== '') back.push({ type: 'text', text: note });
    if (back.length === 0) back.push({ type: 'text', text: 'Continue. Use the tools, and call task_complete when the fix is committed and tested.' });
    messages.push({ role: 'user', content: back });
  }
  // Cache the growing prefix: the next turn reads it at a tenth of the input price. The API looks
  // for an earlier write only about 20 blocks back from a breakpoint, so after a turn of 10 or more
  // tool calls the last message's breakpoint alone finds nothing: the previous user message (the
  // previous request's last breakpoint) gets one too. With tools and system, 4: the API's limit.
  markCacheBreakpoint(messages[messages.length - 1]!);
  if (messages.length >= 3) markCacheBreakpoint(messages[messages.length - 3]!);
  return messages;
}

/** Requests the API refuses for good (bad request, auth, too large) must not be retried. */
function rejectedForGood(err: unknown): ApplicationFailure | null {
  if (!(err instanceof Anthropic.APIError) || err.status === undefined) return null;
  if (![400, 401, 403, 404, 413, 422].includes(err.status)) return null;
  return ApplicationFailure.nonRetryable(`model API rejected the request (${err.status}): ${err.message}`, 'ModelRequestRejected');
}

function elideResult(r: Anthropic.ToolResultBlockParam): Anthropic.ToolResultBlockParam {
  const text = typeof r.content === 'string' ? r.content : JSON.stringify(r.content ?? '');
  return text.length < ELIDE_MIN_CHARS ? r : { ...r, content: elidedNote(text.length) };
}

export function createModelActivities(deps: ModelDeps) {
  const { prisma, anthropic } = deps;

  /**
   * What this iteration cost: its answer, plus any attempt that died in flight (`lost`) or lost
   * the race to store its turn. The workflow's per-fix budget adds these up, so it must see what
   * the ledger counts, not only the answer it keeps.
   */
  async function iterationUnits(input: CallModelInput): Promise<number> {
    const sum = await prisma.ledgerEntry.aggregate({
      where: { workflowId: input.workflowId, iteration: input.iteration, kind: { not: 'pending' } },
      _sum: { costUsd: true },
    });
    return (sum._sum.costUsd ?? new Prisma.Decimal(0)).mul(COST_UNITS_PER_USD).round().toNumber();
  }

  async function storedTurn(input: CallModelInput): Promise<CallModelResult | null> {
    const turn = await prisma.agentTurn.findUnique({ where: { workflowId_iteration: { workflowId: input.workflowId, iteration: input.iteration } } });
    if (!turn) return null;
    const response = turn.response as unknown as Anthropic.Message;
    // The answer's ledger row is priced by response.model, so that is its model too.
    return summarize(response, response.model, await iterationUnits(input));
  }

  return {
    async callModel(input: CallModelInput): Promise<CallModelResult> {
      const stored = await storedTurn(input);
      if (stored) return stored;

      const bug = await prisma.bugReport.findUniqueOrThrow({ where: { id: input.bugId }, include: { project: true } });
      if (input.iteration > 1 && input.notes.length > 0) {
        // Set, not append: a retried attempt writes the same notes again.
        await prisma.agentTurn.update({
          where: { workflowId_iteration: { workflowId: input.workflowId, iteration: input.iteration - 1 } },
          data: { notes: withoutNul(input.notes) }, // hints sent straight to Temporal (CLI) are not checked by the API
        });
      }
      const messages = await buildMessages(prisma, input, initialMessage(bug));
      const system = systemPrompt({
        ...bug.project,
        validation: bug.project.validation as ValidationCommands,
        environment: parseEnvironment(bug.project.environment),
      });
      const tools = AGENT_TOOLS.map((t, i) => (i === AGENT_TOOLS.length - 1 ? { ...t, cache_control: { type: 'ephemeral' as const } } : t));

      const attempt = currentAttempt();
      const reservations = callReservations(prisma, {
        workflowId: input.workflowId,
        iteration: input.iteration,
        bugId: bug.id,
        projectId: bug.projectId,
        model: deps.model,
      });
      await reservations.reserve(attempt);
      const response = await anthropic.messages
        .create(
          {
            model: deps.model,
            max_tokens: deps.maxTokens,
            system: [{ type: 'text', text: system, cache_control: { type: 'ephemeral' } }],
            tools: tools as Anthropic.Tool[],
            messages,
          },
          { signal: cancellationSignal() },
        )
        .catch(async (err: unknown) => {
          // An error answer is not billed; an abort or a lost connection may have been.
          const answered = err instanceof Anthropic.APIError && err.status !== undefined;
          await (answered ? reservations.release(attempt) : reservations.lose(attempt)).catch(() => undefined);
          throw rejectedForGood(err) ?? err;
        });
      const { units, row: billed } = billedFields(response);
      const usage = usageOf(response.usage);
      const ledgerRow = (callKey: string) => ({
        callKey,
        workflowId: input.workflowId,
        projectId: bug.projectId,
        bugId: bug.id,
        iteration: input.iteration,
        ...billed,
      });
      try {
        // The answer is paid for and only in memory: a dropped connection must not lose it.
        await withDbRetry(() =>
          prisma.$transaction([
            reservations.release(attempt),
            prisma.agentTurn.create({
              data: {
                workflowId: input.workflowId,
                iteration: input.iteration,
                response: withoutNul(response) as unknown as Prisma.InputJsonValue,
                stopReason: response.stop_reason,
              },
            }),
            prisma.ledgerEntry.create({ data: ledgerRow(`${input.workflowId}#${input.iteration}`) }),
          ]),
        );
      } catch (err) {
        // Another attempt of this same call stored its turn first: that one is the truth. This
        // answer was billed all the same, so it goes in the ledger on its own row (found by chaos:
        // an attempt timed out across a Temporal restart while it still ran).
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
          const won = await prisma.agentTurn.count({ where: { workflowId: input.workflowId, iteration: input.iteration } });
          if (won > 0) {
            await withDbRetry(() =>
              prisma.$transaction([
                reservations.release(attempt),
                prisma.ledgerEntry.createMany({
                  data: [ledgerRow(`${input.workflowId}#${input.iteration}#${billed.providerRequestId ?? response.id}`)],
                  skipDuplicates: true,
                }),
              ]),
            );
            await deps.onSpend?.({ projectId: bug.projectId });
            // The winner's turn, priced with this row too.
            return (await storedTurn(input))!;
          }
        }
        throw err;
      }
      activityLog({ bugId: bug.id }).info(
        { iteration: input.iteration, model: response.model, ...usage, costUsd: unitsToUsdString(units), stopReason: response.stop_reason },
        'model call answered',
      );
      // Only after a row this attempt wrote: a budget crossing is judged on the ledger, once.
      await deps.onSpend?.({ projectId: bug.projectId });
      // A first attempt is the iteration's only row; a retry may have found lost ones.
      return summarize(response, response.model, attempt === 1 ? units : await iterationUnits(input));
    },
  };
}

/** Connection-level failures (dropped, reset, pool closed) get two quick retries before failing the activity. */
async function withDbRetry<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= 3 || !isConnectionError(err)) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

function isConnectionError(err: unknown): boolean {
  // Unique violations and the like are answers, not connection trouble.
  if (err instanceof Prisma.PrismaClientKnownRequestError && !/^P10/.test(err.code)) return false;
  const text = `${(err as Error)?.message ?? ''} ${String((err as { cause?: unknown })?.cause ?? '')}`;
  return /terminat|connection|ECONNRESET|ECONNREFUSED|closed|socket/i.test(text);
}
