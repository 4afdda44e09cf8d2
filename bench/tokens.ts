/**
 * `npm run bench:tokens`: input tokens billed for one 20-turn scripted fix through the real loop
 * (prompt caching, truncated outputs, elided old results) against the original design's naive
 * loop (full history re-sent every turn, no caching, untruncated outputs), same stand-in, same
 * tool calls. Billed input weighs cache reads at 0.1 and cache writes at 1.25 of the input price.
 *
 * Then a long fix: 84 turns of four large command outputs each, through the real loop with the
 * default context window (200K tokens, condensed at half): the largest prompt, billed input, and
 * how billed input grows with turns (least-squares line through the cumulative billed input per
 * turn, and the per-turn cost of the second half against the first; quadratic growth would show
 * as a ratio well above 1). Writes bench/results/tokens.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import Docker from 'dockerode';
import { createSandboxContainer } from '../src/sandbox/container.js';
import { execInSandbox } from '../src/sandbox/exec.js';
import { AGENT_TOOLS } from '../src/domain/agent/agent-tools.js';
import type { FixOutcome } from '../src/domain/fix/fix.js';
import { initialMessage, systemPrompt } from '../src/domain/agent/prompt.js';
import { issueIntakeKey, upsertProject } from '../src/projects/project-store.js';
import { startStack } from '../dev/local-stack.js';
import { runMain, writeResult } from './support.js';
import { createBareRemote } from '../dev/fixture-remotes.js';
import type { AnsweredCall, ModelScript } from '../dev/stand-ins/anthropic-api.js';
import { waitForFixStart } from '../src/fixes/resolve-fix.js';
import { longFixScenario } from '../dev/scenarios/long-fix.js';
import { fitLine } from './fit-line.js';

const TURNS = 20;
const BIG_COMMAND = 'seq 1 6000'; // ~29 KB of output, past the tool output limit
const bug = { title: 'Totals are wrong on long invoices', description: 'Invoices with many lines show a wrong total.', priority: 'HIGH' };

/** 17 turns of looking at long output, then write, commit, complete. */
const script: ModelScript = (_req, turn) => {
  if (turn < TURNS - 3)
    return [
      { type: 'text', text: `Looking at the data (${turn}).` },
      { type: 'tool_use', name: 'run_command', input: { command: BIG_COMMAND } },
    ];
  if (turn === TURNS - 3) return [{ type: 'tool_use', name: 'write_file', input: { path: 'NOTES.md', content: 'Investigated totals.\n' } }];
  if (turn === TURNS - 2) return [{ type: 'tool_use', name: 'git_commit', input: { message: 'Notes on totals' } }];
  return [{ type: 'tool_use', name: 'task_complete', input: { summary: 'Documented the investigation.' } }];
};

const billedOne = (c: AnsweredCall) => c.usage.input_tokens + 0.1 * c.usage.cache_read_input_tokens + 1.25 * c.usage.cache_creation_input_tokens;
const billed = (calls: AnsweredCall[]) => calls.reduce((sum, c) => sum + billedOne(c), 0);
const promptOf = (c: AnsweredCall) => c.usage.input_tokens + c.usage.cache_read_input_tokens + c.usage.cache_creation_input_tokens;

const LONG_TURNS = 84;
const LONG_COMMANDS_PER_TURN = 4;

/** Files one report for a project of its own and waits for its outcome. */
async function runFix(stack: Awaited<ReturnType<typeof startStack>>, bare: string, name: string, budgets?: Record<string, number>): Promise<FixOutcome> {
  const suffix = `${name}-${Date.now().toString(36)}`;
  const project = await upsertProject(stack.prisma, {
    key: `tokens-${suffix}`,
    name: 'Invoices',
    repoOwner: 'acme',
    repoName: 'invoices',
    cloneUrl: bare,
    budgets,
  });
  const key = await issueIntakeKey(stack.prisma, project.id);
  const res = await fetch(`${stack.httpUrl}/api/bugs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ ...bug, externalId: `tokens-${suffix}` }),
  });
  const { workflowId } = (await res.json()) as { workflowId: string };
  return (await (await waitForFixStart(stack.temporal, workflowId)).result()) as FixOutcome;
}

/** Billed input per agent turn, a summary call counted with the turn it was made for. */
function billedPerTurn(calls: AnsweredCall[]): number[] {
  const perTurn: number[] = [];
  let carried = 0;
  for (const c of calls) {
    if (c.purpose === 'condense') carried += billedOne(c);
    else {
      perTurn.push(carried + billedOne(c));
      carried = 0;
    }
  }
  return perTurn;
}

/** The long fix's figures: largest prompt against the window, billed input and its growth in turns. */
function longFixFigures(calls: AnsweredCall[], outcome: FixOutcome, windowTokens: number) {
  const perTurn = billedPerTurn(calls);
  let sum = 0;
  const cumulative = perTurn.map((b) => (sum += b));
  const line = fitLine(cumulative.map((y, i) => [i + 1, y]));
  const half = Math.floor(perTurn.length / 2);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const maxPromptTokens = Math.max(...calls.map(promptOf));
  return {
    longTurns: outcome.iterations,
    maxPromptTokens,
    longBilledInputTokens: Math.round(billed(calls)),
    contextWindowTokens: windowTokens,
    maxPromptShare: Number((maxPromptTokens / windowTokens).toFixed(3)),
    maxPromptShareTarget: 0.5,
    condensations: calls.filter((c) => c.purpose === 'condense').length,
    longBilledGrowth: {
      fit: 'cumulative billed input = intercept + slope × turns (least squares)',
      slopePerTurn: Math.round(line.slope),
      intercept: Math.round(line.intercept),
      r2: Number(line.r2.toFixed(4)),
      secondHalfVsFirstHalfPerTurn: Number((mean(perTurn.slice(half)) / mean(perTurn.slice(0, half))).toFixed(3)),
    },
    longCostUsd: outcome.costUsd,
  };
}

/** The original design's loop: everything re-sent, nothing cached, outputs as they came. */
async function naiveLoop(client: Anthropic, model: string, containerId: string, docker: Docker): Promise<void> {
  const project = { name: 'Invoices', repoOwner: 'acme', repoName: 'invoices', validation: {} };
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: initialMessage(bug) }];
  for (let turn = 0; turn < TURNS; turn++) {
    const response = await client.messages.create({ model, max_tokens: 4096, system: systemPrompt(project), tools: AGENT_TOOLS as Anthropic.Tool[], messages });
    messages.push({ role: 'assistant', content: response.content });
    const results: Anthropic.ToolResultBlockParam[] = [];
    for (const block of response.content) {
      if (block.type !== 'tool_use') continue;
      const input = block.input as { command?: string };
      const content = input.command ? (await execInSandbox(docker, containerId, ['bash', '-c', input.command])).stdout.toString() : 'ok';
      results.push({ type: 'tool_result', tool_use_id: block.id, content });
    }
    messages.push({ role: 'user', content: results });
  }
}

async function main(): Promise<void> {
  const stack = await startStack({ script, temporal: 'ephemeral', httpPort: 0 });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-bench-tokens-'));
  const docker = new Docker();
  let naiveContainer: string | undefined;
  try {
    const bare = createBareRemote('pagination', path.join(tmp, 'invoices.git'));
    stack.github!.addRepo('acme', 'invoices', bare);
    const suffix = Date.now().toString(36);
    const outcome = await runFix(stack, bare, 'short');
    if (outcome.status !== 'pr_created' || outcome.iterations !== TURNS)
      throw new Error(`real loop: ${outcome.status} after ${outcome.iterations} turns: ${outcome.reason}`);
    const realCalls = [...stack.anthropic!.answered];

    const container = await createSandboxContainer(
      docker,
      stack.config.SANDBOX_IMAGE,
      { workflowId: `bench-tokens-${suffix}`, bugId: '00000000-0000-0000-0000-000000000000', projectKey: 'bench', cloneUrl: bare, defaultBranch: 'main' },
      'bench',
    );
    naiveContainer = container.id;
    const client = new Anthropic({ apiKey: 'stand-in-key', baseURL: stack.anthropic!.url });
    await naiveLoop(client, stack.config.AGENT_MODEL, container.id, docker);
    const naiveCalls = stack.anthropic!.answered.slice(realCalls.length);

    stack.anthropic!.setScript(longFixScenario({ turns: LONG_TURNS, commandsPerTurn: LONG_COMMANDS_PER_TURN }));
    const before = stack.anthropic!.answered.length;
    const longOutcome = await runFix(stack, bare, 'long', {
      maxIterations: LONG_TURNS + 10,
      maxTokens: 500_000_000,
      maxCostUsd: 1000,
      maxDurationMs: 3600_000,
    });
    if (longOutcome.status !== 'pr_created' || longOutcome.iterations !== LONG_TURNS)
      throw new Error(`long fix: ${longOutcome.status} after ${longOutcome.iterations} turns: ${longOutcome.reason}`);
    const long = longFixFigures(stack.anthropic!.answered.slice(before), longOutcome, stack.config.AGENT_CONTEXT_WINDOW_TOKENS);

    const real = billed(realCalls);
    const naive = billed(naiveCalls);
    const result = {
      turns: TURNS,
      billedInputTokens: Math.round(real),
      naiveBilledInputTokens: Math.round(naive),
      ratio: Number((real / naive).toFixed(3)),
      target: 0.3,
      cacheReadTokens: realCalls.reduce((s, c) => s + c.usage.cache_read_input_tokens, 0),
      cacheWriteTokens: realCalls.reduce((s, c) => s + c.usage.cache_creation_input_tokens, 0),
      uncachedInputTokens: realCalls.reduce((s, c) => s + c.usage.input_tokens, 0),
      realCostUsd: outcome.costUsd,
      ...long,
    };
    writeResult('tokens', result);
  } finally {
    if (naiveContainer) await docker.getContainer(naiveContainer).remove({ force: true });
    await stack.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
