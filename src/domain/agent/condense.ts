/**
 * Condensation: when a fix's next prompt would reach a share of the model's context window, its
 * older turns are replaced by one summary the model writes itself, and the loop goes on with the
 * system prompt, the bug report, the summary and the most recent turns. Elision alone bounds the
 * tool outputs, not the turns: every old turn still costs its call and a note. Pure: the trigger,
 * which turns stay verbatim, and the texts.
 */
import type { TokenUsage } from '../fix/pricing.js';

export interface CondenseSettings {
  /** the agent model's context window, in tokens */
  contextWindowTokens: number;
  /** condense when the next prompt is estimated to reach this share of the window */
  condenseAtShare: number;
}

export const DEFAULT_CONDENSE: CondenseSettings = { contextWindowTokens: 200_000, condenseAtShare: 0.5 };

/** Most recent turns kept verbatim at most (the latest always is: its results answer the model's latest calls). */
export const KEEP_VERBATIM_TURNS = 6;
/** The kept turns may fill at most this share of the limit, so a condensed prompt leaves room to work. */
export const KEEP_SHARE_OF_LIMIT = 1 / 3;
export const SUMMARY_MAX_TOKENS = 4096;

/** Opens the summarising request's last block: how the request (and the API stand-in) tells it from an agent turn. */
export const CONDENSE_REQUEST_TAG = '<condense_request>';

export const CONDENSE_REQUEST = [
  CONDENSE_REQUEST_TAG,
  'This conversation is getting long. Its older turns are about to be replaced by a summary you write now;',
  'the most recent turns stay visible verbatim after it. Write the summary for yourself, to continue the fix from:',
  'the bug, what you found (files, functions, the cause), what you changed and committed, what you tried that failed,',
  'which tests you ran and their results, and what is left to do. Be specific (paths, names, commands), at most about',
  '600 words. Do not call any tool in this answer.',
  '</condense_request>',
].join('\n');

/** Tokens a prompt held, as the provider counted them (cached or not). */
export function promptTokens(u: TokenUsage): number {
  return u.inputTokens + u.cacheReadTokens + u.cacheCreationTokens;
}

/**
 * Tokens of request content, estimated from its JSON at 3 characters a token: Claude's tokenizer
 * averages nearer 4 on code and prose, so the estimate errs high and the bound holds.
 */
export function estimateTokens(value: unknown): number {
  return Math.ceil(JSON.stringify(value ?? '').length / 3);
}

export function condenseLimitTokens(s: CondenseSettings): number {
  return Math.floor(s.contextWindowTokens * s.condenseAtShare);
}

/** The next prompt is the last one (as billed) plus what was added since (estimated). */
export function nextPromptReachesLimit(lastPromptTokens: number, addedTokens: number, s: CondenseSettings): boolean {
  return lastPromptTokens + addedTokens >= condenseLimitTokens(s);
}

/**
 * The first turn kept verbatim: walking back from the latest, up to KEEP_VERBATIM_TURNS turns
 * while they fit in their share of the limit (the latest always). `turns` ascend by iteration.
 */
export function firstKeptTurn(turns: Array<{ iteration: number; tokens: number }>, s: CondenseSettings): number {
  const budget = condenseLimitTokens(s) * KEEP_SHARE_OF_LIMIT;
  let kept = 0;
  let used = 0;
  let first = turns[turns.length - 1]?.iteration ?? 1;
  for (let i = turns.length - 1; i >= 0 && kept < KEEP_VERBATIM_TURNS; i--) {
    const turn = turns[i]!;
    if (kept > 0 && used + turn.tokens > budget) break;
    used += turn.tokens;
    kept += 1;
    first = turn.iteration;
  }
  return first;
}

/** What the opening user message carries after the bug report once earlier turns are condensed. */
export function summaryOpening(summary: string, turnsSummarised: number): string {
  return [
    `<earlier_turns_summary turns="${turnsSummarised}">`,
    summary,
    '</earlier_turns_summary>',
    'Your earlier turns are summarised above, in your own words; the turns since follow verbatim. Continue the fix.',
  ].join('\n');
}

/**
 * The summary out of the summarising answer: its text. An answer without text (the model called a
 * tool after all) still condenses: the prompt must shrink, and the repository holds the work.
 */
export function summaryText(content: Array<{ type: string; text?: string }>): string {
  const text = content.flatMap((b) => (b.type === 'text' && b.text?.trim() ? [b.text.trim()] : [])).join('\n\n');
  return text || '(No summary was written. Check the repository state (git log, git diff) before going on.)';
}
