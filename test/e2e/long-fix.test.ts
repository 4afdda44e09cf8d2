/**
 * A fix of 82 turns with large tool outputs, end to end (real Temporal, sandbox, ledger, the
 * scripted model over HTTP): its conversation is condensed whenever the next prompt would reach
 * half of the model's context window (64K tokens here, so it happens often), the loop goes on, and
 * no prompt ever exceeds that half. The summary calls are ledger rows of their own (purpose
 * `condense`); the transcript keeps every turn.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { longFixScenario } from '../../dev/scenarios/long-fix.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { startFix } from '../support/start-fix.js';

const WINDOW = 64_000;
const TURNS = 82;

describe('a long fix', () => {
  let stack: Stack;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-long-'));
  const suffix = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    process.env.AGENT_CONTEXT_WINDOW_TOKENS = String(WINDOW);
    process.env.CONDENSE_AT_SHARE = '0.5';
    stack = await startStack({
      script: longFixScenario({ turns: TURNS, commandsPerTurn: 2 }),
      temporal: { address: process.env.TEMPORAL_ADDRESS! },
      httpPort: 0,
    });
  });
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test(`${TURNS} turns with large tool outputs complete, condensed, every prompt within half the window`, { timeout: 20 * 60_000 }, async () => {
    const { project } = await createFixtureProject(stack.prisma, stack.github, { key: `long-${suffix}`, repo: `long-${suffix}`, dir: tmp });
    const workflowId = `bugfix-long-${suffix}`;
    const budgets = { maxIterations: TURNS + 10, maxTokens: 100_000_000, maxCostUsd: 100, maxDurationMs: 30 * 60_000 };
    const handle = await startFix(stack, project, { workflowId, externalId: `long-${suffix}`, budgets });
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome, outcome.reason).toMatchObject({ status: 'pr_created', iterations: TURNS });

    const calls = stack.anthropic!.answered;
    const prompts = calls.map((c) => c.usage.input_tokens + c.usage.cache_read_input_tokens + c.usage.cache_creation_input_tokens);
    console.log(
      `long fix: ${calls.length} calls, largest prompt ${Math.max(...prompts)} tokens, ${calls.filter((c) => c.purpose === 'condense').length} condensed`,
    );
    expect(Math.max(...prompts)).toBeLessThanOrEqual(WINDOW / 2);

    const ledger = await stack.prisma.ledgerEntry.findMany({ where: { workflowId } });
    const condensing = ledger.filter((l) => l.purpose === 'condense');
    expect(condensing.length).toBeGreaterThanOrEqual(3);
    expect(condensing.map((l) => l.providerRequestId).sort()).toEqual(
      calls
        .filter((c) => c.purpose === 'condense')
        .map((c) => c.requestId)
        .sort(),
    );
    expect(ledger.filter((l) => l.purpose === 'agent')).toHaveLength(TURNS);
    // The summary is asked for at the end of the previous turn's own request: read from the cache.
    for (const c of calls.filter((call) => call.purpose === 'condense')) expect(c.usage.cache_read_input_tokens).toBeGreaterThan(0);
    // The fix's cost counts the summary calls.
    const ledgerUsd = ledger.reduce((sum, l) => sum + Number(l.costUsd), 0);
    expect(Math.abs(outcome.costUsd - ledgerUsd)).toBeLessThan(1e-6);

    // The audit keeps every turn; each condensation says which turns it replaced.
    expect(await stack.prisma.agentTurn.count({ where: { workflowId } })).toBe(TURNS);
    const condensations = await stack.prisma.agentCondensation.findMany({ where: { workflowId }, orderBy: { iteration: 'asc' } });
    expect(condensations).toHaveLength(condensing.length);
    for (const [i, c] of condensations.entries()) {
      expect(c.keptFrom).toBeLessThan(c.iteration);
      if (i > 0) expect(c.keptFrom).toBeGreaterThan(condensations[i - 1]!.keptFrom);
      expect(c.summary).toMatch(/^Summary of \d+ turns/);
    }
  });
});
