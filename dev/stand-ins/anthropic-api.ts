/**
 * HTTP stand-in of the Anthropic Messages API (POST /v1/messages) serving a scripted model.
 * The real @anthropic-ai/sdk talks to it through ANTHROPIC_BASE_URL. A test double, never the
 * product: the script decides each reply from the request it receives, like a model would.
 * A request asking to condense the conversation (its last block opens with the product's
 * condense request) is answered by the stand-in's own summariser, not the script.
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import { listen, type Listening } from './listen.js';
import { approxTokens, PromptCache } from './prompt-cache.js';
import { CONDENSE_REQUEST_TAG } from '../../src/domain/agent/condense.js';
import { CALL_KEY_HEADER } from '../../src/model/call-reservations.js';

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  system?: unknown;
  tools?: Array<{ name: string }>;
  messages: Array<{ role: 'user' | 'assistant'; content: string | Array<Record<string, unknown>> }>;
}

export type ReplyBlock = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: Record<string, unknown> };

/**
 * Given the request and the turn number (0-based: the model turns so far, the assistant messages
 * plus the turns a condensed conversation summarises), the reply.
 */
export type ModelScript = (req: MessagesRequest, turn: number) => ReplyBlock[];

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal';
/** A reply that says how it stopped: cut off at max_tokens, a refusal. Plain blocks stop with tool_use or end_turn. */
export interface ScriptedReply {
  content: ReplyBlock[];
  stop_reason: StopReason;
}
/** A script whose replies may also carry their stop_reason (any ModelScript is one). */
export type ReplyScript = (req: MessagesRequest, turn: number) => ReplyBlock[] | ScriptedReply;

export interface AnsweredCall {
  id: string;
  requestId: string;
  /** when the answer was sent (ms since the epoch) */
  at: number;
  model: string;
  turn: number;
  /** agent: a turn the script answered; condense: a request to summarise the conversation */
  purpose: 'agent' | 'condense';
  /** the client's reservation key (CALL_KEY_HEADER), when it sent one */
  callKey?: string;
  usage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number };
}

export interface AnthropicStandIn extends Listening {
  answered: AnsweredCall[];
  /** every request received, answered or not, in order */
  received: MessagesRequest[];
  /** requests whose client went away before the answer (an aborted call) */
  aborted: number;
  /** requests being answered right now (waiting out the delay) */
  inFlight(): number;
  setScript(script: ReplyScript): void;
  /** answer every request only after this many ms (a slow model) */
  setDelay(ms: number): void;
  /** The next `count` requests fail with this status (429, 500, 529 ...). */
  failNext(status: number, count?: number, retryAfterSeconds?: number): void;
  /** From now on, each request fails with one of `statuses` with probability `rate` (seeded, repeatable). */
  failRandomly(opts: { rate: number; statuses: number[]; seed: number } | null): void;
}

/** mulberry32: a tiny seeded generator, so a failing run can be repeated exactly. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Last user message's tool results, by tool_use id: what scripts read to react to outcomes. */
export function lastToolResults(req: MessagesRequest): Array<{ content: string; is_error?: boolean }> {
  const last = req.messages[req.messages.length - 1];
  if (!last || typeof last.content === 'string') return [];
  return last.content.filter((b) => b.type === 'tool_result').map((b) => ({ content: String(b.content ?? ''), is_error: b.is_error as boolean | undefined }));
}

/** Whether the request asks for a summary of the conversation (the product's condense request ends it). */
export function isCondenseRequest(req: MessagesRequest): boolean {
  const last = req.messages[req.messages.length - 1];
  const block = last && typeof last.content !== 'string' ? last.content[last.content.length - 1] : undefined;
  return block?.type === 'text' && String(block.text ?? '').startsWith(CONDENSE_REQUEST_TAG);
}

/** Model turns before this request: the assistant messages, plus the turns an earlier summary stands for. */
export function turnsSoFar(req: MessagesRequest): number {
  const first = req.messages[0];
  const opening = !first ? '' : typeof first.content === 'string' ? first.content : first.content.map((b) => String(b.text ?? '')).join('\n');
  const summarised = Number(/<earlier_turns_summary turns="(\d+)">/.exec(opening)?.[1] ?? 0);
  return summarised + req.messages.filter((m) => m.role === 'assistant').length;
}

/** The stand-in's summary: which tools the conversation used how often, and the files it wrote. */
function standInSummary(req: MessagesRequest): ReplyBlock[] {
  const counts = new Map<string, number>();
  const files = new Set<string>();
  for (const m of req.messages) {
    if (m.role !== 'assistant' || typeof m.content === 'string') continue;
    for (const b of m.content) {
      if (b.type !== 'tool_use') continue;
      counts.set(String(b.name), (counts.get(String(b.name)) ?? 0) + 1);
      const path = (b.input as { path?: unknown } | undefined)?.path;
      if (typeof path === 'string') files.add(path);
    }
  }
  const tools = [...counts].map(([name, n]) => `${name} x${n}`).join(', ');
  return [{ type: 'text', text: `Summary of ${turnsSoFar(req)} turns. Tools used: ${tools || 'none'}. Files written: ${[...files].join(', ') || 'none'}.` }];
}

/**
 * The Messages API's own checks on a request that a product can trip (its 400
 * invalid_request_error messages): empty messages and text blocks, too many cache breakpoints.
 */
function invalidRequest(body: MessagesRequest): string | null {
  const blocks = [...(body.tools ?? []), ...(Array.isArray(body.system) ? (body.system as object[]) : [])];
  for (const m of body.messages) if (typeof m.content !== 'string') blocks.push(...m.content);
  const breakpoints = blocks.filter((b) => 'cache_control' in b).length;
  if (breakpoints > 4) return `A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`;
  for (const [i, m] of body.messages.entries()) {
    const finalAssistant = i === body.messages.length - 1 && m.role === 'assistant';
    if (m.content.length === 0 && !finalAssistant)
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    const texts = typeof m.content === 'string' ? [m.content] : m.content.filter((b) => b.type === 'text').map((b) => String(b.text ?? ''));
    if (texts.some((t) => t === '') && m.content.length > 0) return 'messages: text content blocks must be non-empty';
    if (texts.length > 0 && texts.every((t) => t.trim() === '') && !finalAssistant) return 'messages: text content blocks must contain non-whitespace text';
  }
  return null;
}

export async function startAnthropicStandIn(initial: ReplyScript, port = 0): Promise<AnthropicStandIn> {
  let script = initial;
  let delayMs = 0;
  let inFlight = 0;
  const answered: AnsweredCall[] = [];
  const received: MessagesRequest[] = [];
  const failures: Array<{ status: number; retryAfter?: number }> = [];
  const cache = new PromptCache();
  const state = { aborted: 0 };
  let random: { rate: number; statuses: number[]; next: () => number } | null = null;
  const app = express();
  app.use(express.json({ limit: '20mb' }));

  app.post('/v1/messages', async (req, res) => {
    if (!req.header('x-api-key') && !req.header('authorization')) {
      return void res.status(401).json({ type: 'error', error: { type: 'authentication_error', message: 'missing x-api-key' } });
    }
    const body = req.body as MessagesRequest;
    received.push(body);
    const invalid = invalidRequest(body);
    if (invalid) return void res.status(400).json({ type: 'error', error: { type: 'invalid_request_error', message: invalid } });
    let injected = failures.shift();
    if (!injected && random && random.next() < random.rate) {
      injected = { status: random.statuses[Math.floor(random.next() * random.statuses.length)]!, retryAfter: 0 };
    }
    if (injected) {
      const type = injected.status === 429 ? 'rate_limit_error' : injected.status === 529 ? 'overloaded_error' : 'api_error';
      if (injected.retryAfter !== undefined) res.setHeader('retry-after', String(injected.retryAfter));
      return void res.status(injected.status).json({ type: 'error', error: { type, message: `stand-in injected ${injected.status}` } });
    }
    if (delayMs > 0) {
      // A slow model; a client that gives up (an aborted call) is counted and not answered.
      inFlight += 1;
      let timer: NodeJS.Timeout | undefined;
      const outcome = await new Promise<'answer' | 'aborted'>((resolve) => {
        timer = setTimeout(() => resolve('answer'), delayMs);
        req.socket.once('close', () => resolve('aborted'));
      });
      clearTimeout(timer);
      inFlight -= 1;
      if (outcome === 'aborted') return void (state.aborted += 1);
    }
    const turn = turnsSoFar(body);
    const purpose = isCondenseRequest(body) ? 'condense' : 'agent';
    let reply: ReplyBlock[] | ScriptedReply;
    try {
      reply = purpose === 'condense' ? standInSummary(body) : script(body, turn);
    } catch (err) {
      // 400 like the real API's invalid_request_error: the product must not retry it.
      return void res
        .status(400)
        .json({ type: 'error', error: { type: 'invalid_request_error', message: `scripted model diverged: ${(err as Error).message}` } });
    }
    const { content: blocks, stop_reason: stopReason } = Array.isArray(reply) ? { content: reply, stop_reason: undefined } : reply;
    const content = blocks.map((b) => (b.type === 'tool_use' ? { ...b, id: `toolu_${randomUUID().replace(/-/g, '').slice(0, 24)}` } : b));
    // A reply cut off at max_tokens used all of them.
    const usage = { ...cache.usageFor(body), output_tokens: stopReason === 'max_tokens' ? body.max_tokens : approxTokens(content) };
    const id = `msg_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    const requestId = `req_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    answered.push({ id, requestId, at: Date.now(), model: body.model, turn, purpose, callKey: req.header(CALL_KEY_HEADER), usage });
    res.setHeader('request-id', requestId);
    res.json({
      id,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: stopReason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
      stop_sequence: null,
      usage,
    });
  });

  const server = await listen(app, port);
  return {
    ...server,
    answered,
    received,
    get aborted() {
      return state.aborted;
    },
    inFlight: () => inFlight,
    setScript: (s) => void (script = s),
    setDelay: (ms) => void (delayMs = ms),
    failNext: (status, count = 1, retryAfter) => {
      for (let i = 0; i < count; i++) failures.push({ status, retryAfter });
    },
    failRandomly: (opts) => void (random = opts ? { rate: opts.rate, statuses: opts.statuses, next: seeded(opts.seed) } : null),
  };
}
