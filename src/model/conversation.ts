/**
 * The conversation a model call sends, rebuilt from the stored turns (AgentTurn): the bug report,
 * then per turn the response and what went back. Old tool results are elided; once a fix has been
 * condensed (AgentCondensation), the turns before its `keptFrom` are replaced by the summary.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { PrismaClient } from '../db/prisma.js';
import { elidedNote, elisionBoundary, ELIDE_MIN_CHARS } from '../domain/agent/elide.js';
import { summaryOpening } from '../domain/agent/condense.js';

type MessageParam = Anthropic.MessageParam;
type ContentBlock = Anthropic.ContentBlockParam;

export interface StoredTurn {
  iteration: number;
  response: unknown;
  followUp: unknown;
  notes: unknown;
}

export interface Condensation {
  keptFrom: number;
  summary: string;
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

function elideResult(r: Anthropic.ToolResultBlockParam): Anthropic.ToolResultBlockParam {
  const text = typeof r.content === 'string' ? r.content : JSON.stringify(r.content ?? '');
  return text.length < ELIDE_MIN_CHARS ? r : { ...r, content: elidedNote(text.length) };
}

/** One stored turn as sent: the model's response, then its tool results (elided when old) and notes. */
export function turnMessages(turn: StoredTurn, elide: boolean): [MessageParam, MessageParam] {
  const response = turn.response as Anthropic.Message;
  const said = withoutBlankText(response.content as ContentBlock[]);
  const results = (turn.followUp as Anthropic.ToolResultBlockParam[] | null) ?? [];
  const back: ContentBlock[] = elide ? results.map(elideResult) : [...results];
  for (const note of (turn.notes as string[] | null) ?? []) if (note.trim() !== '') back.push({ type: 'text', text: note });
  if (back.length === 0) back.push({ type: 'text', text: 'Continue. Use the tools, and call task_complete when the fix is committed and tested.' });
  return [
    { role: 'assistant', content: said.length > 0 ? said : [{ type: 'text', text: EMPTY_REPLY_TEXT }] },
    { role: 'user', content: back },
  ];
}

/** `turns`: every turn before the call, ascending; `condensation`: the one in force for the call, if any. */
export function conversationMessages(firstMessage: string, turns: StoredTurn[], condensation: Condensation | null): MessageParam[] {
  const opening: MessageParam = condensation
    ? {
        role: 'user',
        content: [
          { type: 'text', text: firstMessage },
          { type: 'text', text: summaryOpening(condensation.summary, condensation.keptFrom - 1) },
        ],
      }
    : { role: 'user', content: firstMessage };
  const messages: MessageParam[] = [opening];
  const boundary = elisionBoundary(turns.length);
  for (const [index, turn] of turns.entries()) {
    if (condensation && turn.iteration < condensation.keptFrom) continue;
    messages.push(...turnMessages(turn, index < boundary));
  }
  // Cache the growing prefix: the next turn reads it at a tenth of the input price. The API looks
  // for an earlier write only about 20 blocks back from a breakpoint, so after a turn of 10 or more
  // tool calls the last message's breakpoint alone finds nothing: the previous user message (the
  // previous request's last breakpoint) gets one too. With tools and system, 4: the API's limit.
  markCacheBreakpoint(messages[messages.length - 1]!);
  if (messages.length >= 3) markCacheBreakpoint(messages[messages.length - 3]!);
  return messages;
}

/** The condensation in force for a call of `iteration`: the latest one written at or before it. */
export async function condensationFor(prisma: PrismaClient, workflowId: string, iteration: number): Promise<Condensation | null> {
  return prisma.agentCondensation.findFirst({
    where: { workflowId, iteration: { lte: iteration } },
    orderBy: { iteration: 'desc' },
    select: { keptFrom: true, summary: true },
  });
}

/** The turns before a call of `iteration`, ascending. */
export function turnsBefore(prisma: PrismaClient, workflowId: string, iteration: number): Promise<StoredTurn[]> {
  return prisma.agentTurn.findMany({ where: { workflowId, iteration: { lt: iteration } }, orderBy: { iteration: 'asc' } });
}
