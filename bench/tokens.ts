/**
 * `npm run bench:tokens`: input tokens billed for one 20-turn scripted fix through the real loop
 * (prompt caching, truncated outputs, elided old results) against the original design's naive
 * loop (full history re-sent every turn, no caching, untruncated outputs), same stand-in, same
 * tool calls. Billed input weighs cache reads at 0.1 and cache writes at 1.25 of the input price.
 * Writes bench/results/tokens.json.
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

const billed = (calls: AnsweredCall[]) =>
  calls.reduce((sum, c) => sum + c.usage.input_tokens + 0.1 * c.usage.cache_read_input_tokens + 1.25 * c.usage.cache_creation_input_tokens, 0);

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
    const project = await upsertProject(stack.prisma, { key: `tokens-${suffix}`, name: 'Invoices', repoOwner: 'acme', repoName: 'invoices', cloneUrl: bare });
    const key = await issueIntakeKey(stack.prisma, project.id);
    const res = await fetch(`${stack.httpUrl}/api/bugs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ ...bug, externalId: `tokens-${suffix}` }),
    });
    const { workflowId } = (await res.json()) as { workflowId: string };
    const outcome = (await (await waitForFixStart(stack.temporal, workflowId)).result()) as FixOutcome;
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
    };
    writeResult('tokens', result);
  } finally {
    if (naiveContainer) await docker.getContainer(naiveContainer).remove({ force: true });
    await stack.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
