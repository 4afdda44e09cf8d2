/**
 * HTTP stand-in of the Anthropic Messages API (POST /v1/messages) serving a scripted model.
 * The real @anthropic-ai/sdk talks to it through ANTHROPIC_BASE_URL. A test double, never the
 * product: the script decides each reply from the request it receives, like a model would.
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import { listen, type Listening } from './listen.js';

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  system?: unknown;
  tools?: Array<{ name: string }>;
  messages: Array<{ role: 'user' | 'assistant'; content: string | Array<Record<string, unknown>> }>;
}

export type ReplyBlock = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: Record<string, unknown> };

/** Given the request and the turn number (0-based count of assistant messages so far), the reply. */
export type ModelScript = (req: MessagesRequest, turn: number) => ReplyBlock[];

export interface AnsweredCall {
  id: string;
  requestId: string;
  model: string;
  turn: number;
  usage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number };
}

export interface AnthropicStandIn extends Listening {
  answered: AnsweredCall[];
  setScript(script: ModelScript): void;
  /** The next `count` requests fail with this status (429, 500, 529 ...). */
  failNext(status: number, count?: number): void;
}

const approxTokens = (value: unknown) => Math.ceil(JSON.stringify(value ?? '').length / 4);

/** Last user message's tool results, by tool_use id: what scripts read to react to outcomes. */
export function lastToolResults(req: MessagesRequest): Array<{ content: string; is_error?: boolean }> {
  const last = req.messages[req.messages.length - 1];
  if (!last || typeof last.content === 'string') return [];
  return last.content
    .filter((b) => b.type === 'tool_result')
    .map((b) => ({ content: String(b.content ?? ''), is_error: b.is_error as boolean | undefined }));
}

export async function startAnthropicStandIn(initial: ModelScript, port = 0): Promise<AnthropicStandIn> {
  let script = initial;
  const answered: AnsweredCall[] = [];
  const failures: number[] = [];
  const app = express();
  app.use(express.json({ limit: '20mb' }));

  app.post('/v1/messages', (req, res) => {
    if (!req.header('x-api-key') && !req.header('authorization')) {
      return void res.status(401).json({ type: 'error', error: { type: 'authentication_error', message: 'missing x-api-key' } });
    }
    const injected = failures.shift();
    if (injected) {
      const type = injected === 429 ? 'rate_limit_error' : injected === 529 ? 'overloaded_error' : 'api_error';
      return void res.status(injected).json({ type: 'error', error: { type, message: `stand-in injected ${injected}` } });
    }
    const body = req.body as MessagesRequest;
    const turn = body.messages.filter((m) => m.role === 'assistant').length;
    let blocks: ReplyBlock[];
    try {
      blocks = script(body, turn);
    } catch (err) {
      // 400 like the real API's invalid_request_error: the product must not retry it.
      return void res.status(400).json({ type: 'error', error: { type: 'invalid_request_error', message: `scripted model diverged: ${(err as Error).message}` } });
    }
    const content = blocks.map((b) => (b.type === 'tool_use' ? { ...b, id: `toolu_${randomUUID().replace(/-/g, '').slice(0, 24)}` } : b));
    const usage = {
      input_tokens: approxTokens(body.messages) + approxTokens(body.system) + approxTokens(body.tools),
      output_tokens: approxTokens(content),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    const id = `msg_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    const requestId = `req_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    answered.push({ id, requestId, model: body.model, turn, usage });
    res.setHeader('request-id', requestId);
    res.json({
      id,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage,
    });
  });

  const server = await listen(app, port);
  return {
    ...server,
    answered,
    setScript: (s) => void (script = s),
    failNext: (status, count = 1) => {
      for (let i = 0; i < count; i++) failures.push(status);
    },
  };
}
