/**
 * callModel: one model turn. The response is stored, keyed by (workflowId, iteration), together
 * with its ledger row BEFORE the activity returns, so a retried attempt or a replay after a crash
 * returns the stored turn and never pays twice. The transcript lives in PostgreSQL; only a small
 * summary goes back into workflow history.
 */
import Anthropic from '@anthropic-ai/sdk';
import { AGENT_TOOLS } from '../src/domain/agent/agent-tools.js';
import { addUsage, COST_UNITS_PER_USD, costUnits, priceFor, totalTokens, unitsToUsdString, ZERO_USAGE, type TokenUsage } from '../src/domain/fix/pricing.js';
import { outputAllowance, type CallBudgetLeft, type PromptEstimate } from '../src/domain/fix/budgets.js';
import { billedFields, usageOf } from '../src/model/answer-billing.js';
import { initialMessage, systemPrompt, type Briefing } from '../src/domain/agent/prompt.js';
import { followUpMessage } from '../src/domain/github/review-threads.js';
import { parseEnvironment } from '../src/projects/environment-settings.js';
import type { ValidationCommands } from '../src/domain/fix/fix.js';
import { Prisma, type PrismaClient } from '../src/db/prisma.js';
import { withoutNul } from '../src/db/jsonb.js';
import { callReservations } from '../src/model/call-reservations.js';
import { cancellationSignal, currentAttempt, untilCancelled } from '../src/temporal/activity-heartbeat.js';
import { SpendStopped, type SpendGuard } from '../src/safety/spend-guard.js';
import { activityLog } from '../src/infra/log.js';
import { condensationFor, conversationMessages, turnsBefore } from '../src/model/conversation.js';
import { condenseIfDue } from '../src/model/condensation.js';
import { DEFAULT_CONDENSE, type CondenseSettings } from '../src/domain/agent/condense.js';
import { rejectedForGood } from '../src/model/rejected-request.js';
import { withDbRetry } from '../src/db/db-retry.js';

export { EMPTY_REPLY_TEXT } from '../src/model/conversation.js';

export interface CallModelInput {
  workflowId: string;
  bugId: string;
  iteration: number;
  /** text delivered after the previous turn's tool results (validation feedback, hints) */
  notes: string[];
  /** what the fix's budgets leave: caps max_tokens (without it, the configured maximum) */
  budgetLeft?: CallBudgetLeft;
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
  /** set when the budgets left less than a useful call needs: no call was made, the fix stops with this reason */
  budgetStop?: string;
}

type MessageParam = Anthropic.MessageParam;

export interface ModelDeps {
  prisma: PrismaClient;
  anthropic: Anthropic;
  model: string;
  maxTokens: number;
  /** when older turns are condensed (default: a 200K window, at half of it) */
  condense?: CondenseSettings;
  /** budgets and the spend rule, checked after each new ledger row; must not throw (see activities/alerts.ts) */
  onSpend?: (e: { projectId: string }) => Promise<void>;
  /** kill switches as this worker hears of them: calls they cover are aborted or refused at once */
  spendGuard?: SpendGuard;
}

/** `alsoUsed`: a condensing call the iteration made before its turn. */
function summarize(response: Anthropic.Message, model: string, units: number, alsoUsed: TokenUsage = ZERO_USAGE): CallModelResult {
  const text = response.content.find((b): b is Anthropic.TextBlock => b.type === 'text')?.text ?? '';
  return {
    toolCallCount: response.content.filter((b) => b.type === 'tool_use').length,
    toolNames: response.content.flatMap((b) => (b.type === 'tool_use' ? [b.name] : [])),
    stopReason: response.stop_reason,
    usage: addUsage(usageOf(response.usage), alsoUsed),
    costUnits: units,
    model,
    text: text.slice(0, 200),
  };
}

/** The conversation in force for this call: turns, with older ones condensed once they were. */
async function buildMessages(prisma: PrismaClient, input: CallModelInput, firstMessage: string): Promise<MessageParam[]> {
  const [turns, condensation] = await Promise.all([
    turnsBefore(prisma, input.workflowId, input.iteration),
    condensationFor(prisma, input.workflowId, input.iteration),
  ]);
  return conversationMessages(firstMessage, turns, condensation);
}

/**
 * The next prompt, estimated by the previous request's (0 on the first call). After a
 * condensation this over-estimates, which errs on the side of the budget.
 */
async function promptEstimate(prisma: PrismaClient, input: CallModelInput, model: string): Promise<PromptEstimate> {
  const last = await prisma.agentTurn.findFirst({
    where: { workflowId: input.workflowId, iteration: { lt: input.iteration } },
    orderBy: { iteration: 'desc' },
    select: { response: true },
  });
  const response = last?.response as unknown as Anthropic.Message | undefined;
  const prompt = response ? { ...usageOf(response.usage), outputTokens: 0 } : ZERO_USAGE;
  return { tokens: totalTokens(prompt), costUnits: costUnits(model, prompt) };
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

  /** Tokens of the iteration's condensing call, when it made one (the summary kept). */
  async function condensingUsage(input: CallModelInput): Promise<TokenUsage> {
    const row = await prisma.agentCondensation.findUnique({ where: { workflowId_iteration: { workflowId: input.workflowId, iteration: input.iteration } } });
    return row ? usageOf((row.response as unknown as Anthropic.Message).usage) : ZERO_USAGE;
  }

  async function storedTurn(input: CallModelInput): Promise<CallModelResult | null> {
    const turn = await prisma.agentTurn.findUnique({ where: { workflowId_iteration: { workflowId: input.workflowId, iteration: input.iteration } } });
    if (!turn) return null;
    const response = turn.response as unknown as Anthropic.Message;
    // The answer's ledger row is priced by response.model, so that is its model too.
    return summarize(response, response.model, await iterationUnits(input), await condensingUsage(input));
  }

  return {
    /**
     * One iteration's model call. A kill switch this worker hears of aborts it (or refuses it) at
     * once; the activity then waits for the kill to cancel it through Temporal (untilCancelled).
     */
    async callModel(input: CallModelInput): Promise<CallModelResult> {
      try {
        return await callModelOnce(input);
      } catch (err) {
        if (err instanceof SpendStopped) await untilCancelled(err);
        throw err;
      }
    },
  };

  async function callModelOnce(input: CallModelInput): Promise<CallModelResult> {
    const stored = await storedTurn(input);
    if (stored) return stored;

    const bug = await prisma.bugReport.findUniqueOrThrow({ where: { id: input.bugId }, include: { project: true } });
    const guarded = <T>(call: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> =>
      deps.spendGuard ? deps.spendGuard.run(bug.project.key, cancellationSignal(), call) : call(cancellationSignal());
    if (input.iteration > 1 && input.notes.length > 0) {
      // Set, not append: a retried attempt writes the same notes again.
      await prisma.agentTurn.update({
        where: { workflowId_iteration: { workflowId: input.workflowId, iteration: input.iteration - 1 } },
        data: { notes: withoutNul(input.notes) }, // hints sent straight to Temporal (CLI) are not checked by the API
      });
    }
    // A call may not overshoot what the fix has left: its answer is capped, or it is not made.
    const allowance = input.budgetLeft
      ? outputAllowance(deps.maxTokens, input.budgetLeft, priceFor(deps.model), await promptEstimate(prisma, input, deps.model))
      : { maxTokens: deps.maxTokens };
    if ('stop' in allowance) {
      const nothing = { toolCallCount: 0, toolNames: [], stopReason: null, usage: ZERO_USAGE, costUnits: 0, model: deps.model, text: '' };
      return { ...nothing, budgetStop: allowance.stop };
    }
    // Baseline validation output and repository instructions, read in the sandbox before the first turn.
    const briefing = (await prisma.fixBriefing.findUnique({ where: { workflowId: input.workflowId } })) as Briefing | null;
    // A follow-up round on the fix's pull request starts from the reviewers' feedback instead.
    const round = await prisma.pullRequestRound.findUnique({ where: { id: input.workflowId }, select: { feedback: true } });
    const firstMessage = round ? followUpMessage(bug.title, round.feedback) : initialMessage(bug, briefing);
    const system = systemPrompt({
      ...bug.project,
      validation: bug.project.validation as ValidationCommands,
      environment: parseEnvironment(bug.project.environment),
    });
    const tools = AGENT_TOOLS.map((t, i) => (i === AGENT_TOOLS.length - 1 ? { ...t, cache_control: { type: 'ephemeral' as const } } : t));
    const systemBlocks: Anthropic.TextBlockParam[] = [{ type: 'text', text: system, cache_control: { type: 'ephemeral' } }];

    const attempt = currentAttempt();
    // A prompt nearing its share of the context window: older turns are summarised first.
    const condensed = await guarded((signal) =>
      condenseIfDue({
        prisma,
        anthropic,
        model: deps.model,
        maxTokens: deps.maxTokens,
        settings: deps.condense ?? DEFAULT_CONDENSE,
        workflowId: input.workflowId,
        iteration: input.iteration,
        bugId: bug.id,
        projectId: bug.projectId,
        system: systemBlocks,
        tools: tools as Anthropic.Tool[],
        firstMessage,
        attempt,
        signal,
      }),
    );
    if (condensed) await deps.onSpend?.({ projectId: bug.projectId });
    const messages = await buildMessages(prisma, input, firstMessage);
    const reservations = callReservations(prisma, {
      workflowId: input.workflowId,
      iteration: input.iteration,
      bugId: bug.id,
      projectId: bug.projectId,
      model: deps.model,
    });
    await reservations.reserve(attempt);
    const response = await guarded((signal) =>
      anthropic.messages
        .create(
          {
            model: deps.model,
            max_tokens: allowance.maxTokens,
            system: systemBlocks,
            tools: tools as Anthropic.Tool[],
            messages,
          },
          { signal, headers: reservations.requestHeaders(attempt) },
        )
        .catch(async (err: unknown) => {
          // An error answer is not billed; an abort or a lost connection may have been.
          const answered = err instanceof Anthropic.APIError && err.status !== undefined;
          await (answered ? reservations.release(attempt) : reservations.lose(attempt)).catch(() => undefined);
          throw rejectedForGood(err) ?? err;
        }),
    );
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
    // A first attempt that did not condense is the iteration's only row; a retry may have found lost ones.
    if (attempt === 1 && !condensed) return summarize(response, response.model, units);
    return summarize(response, response.model, await iterationUnits(input), await condensingUsage(input));
  }
}
