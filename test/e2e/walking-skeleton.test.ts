/**
 * The walking skeleton through real parts: HTTP intake → bugFixWorkflow on a real Temporal server →
 * a real sandbox container → the scripted model driving the real Anthropic SDK → the fixture's test
 * red then green in the sandbox → push to a real git remote → PR through Octokit on the GitHub
 * stand-in → container removed → one ledger row per answered model call in PostgreSQL.
 */
import { waitForFixStart } from '../../src/fixes/resolve-fix.js';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { SANDBOX_LABELS } from '../../src/sandbox/container.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { issueIntakeKey } from '../../src/projects/project-store.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import sampleBug from '../../dev/sample-bug.json' with { type: 'json' };
import { temporalCliPath } from '../../src/temporal/dev-server.js';

const runTests = (dir: string) => spawnSync('node', ['--test'], { cwd: dir, encoding: 'utf8' }).status;

describe('walking skeleton', () => {
  let stack: Stack;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-e2e-'));

  beforeAll(async () => {
    stack = await startStack({ script: paginationScenario, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a filed report ends as a pull request whose branch passes the fixture tests', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const { project, bare } = await createFixtureProject(stack.prisma, stack.github, { key: `e2e-${suffix}`, repo: 'shop', dir: tmp });
    const key = await issueIntakeKey(stack.prisma, project.id);

    const res = await fetch(`${stack.httpUrl}/api/bugs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ ...sampleBug, externalId: `e2e-${suffix}` }),
    });
    expect(res.status).toBe(202);
    const filed = (await res.json()) as { bugId: string; workflowId: string; statusUrl: string };

    const outcome = (await (await waitForFixStart(stack.temporal, filed.workflowId)).result()) as FixOutcome;
    expect(outcome.reason).toBeUndefined();
    expect(outcome.status).toBe('pr_created');

    // Exactly one PR, from the fix branch to main, on the GitHub stand-in.
    const pulls = stack.github!.pulls('acme', 'shop');
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ head: outcome.pr!.branch, base: 'main', state: 'open' });
    expect(outcome.pr!.branch).toMatch(/^fix\/bug-[0-9a-f]{8}$/);
    expect(pulls[0]!.body).toContain('(page - 1) * size');

    // The pushed branch really fixes the bug: the fixture's tests pass on it and fail on main.
    const checkout = path.join(tmp, 'checkout');
    execFileSync('git', ['clone', '-q', '--branch', outcome.pr!.branch, bare, checkout]);
    expect(runTests(checkout)).toBe(0);
    execFileSync('git', ['checkout', '-q', 'main'], { cwd: checkout });
    expect(runTests(checkout)).not.toBe(0);

    // Green at the end (final validation); time in the project's own commands is accounted for.
    expect(outcome.validation).toEqual([expect.objectContaining({ gate: 'test', passed: true })]);
    expect(outcome.timings.commandsMs).toBeGreaterThan(0);
    expect(outcome.timings.validationMs).toBeGreaterThanOrEqual(outcome.validation[0]!.durationMs);

    // The sandbox is gone.
    const left = await new Docker().listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${filed.workflowId}`] } });
    expect(left).toEqual([]);

    // One ledger row per model call the stand-in answered, costs adding up to the outcome.
    const ledger = await stack.prisma.ledgerEntry.findMany({ where: { workflowId: filed.workflowId }, orderBy: { iteration: 'asc' } });
    expect(ledger).toHaveLength(stack.anthropic!.answered.length);
    expect(ledger.map((l) => l.providerRequestId)).toEqual(stack.anthropic!.answered.map((a) => a.requestId));
    expect(ledger.map((l) => l.inputTokens)).toEqual(stack.anthropic!.answered.map((a) => a.usage.input_tokens));
    expect(outcome.iterations).toBe(ledger.length);
    const ledgerUsd = ledger.reduce((sum, l) => sum + Number(l.costUsd), 0);
    expect(ledgerUsd).toBeCloseTo(outcome.costUsd, 8);
    expect(ledgerUsd).toBeGreaterThan(0);

    // Payload privacy: Temporal stores the report's text only encrypted (the PR body, the context).
    const history = JSON.stringify(await stack.temporal.workflow.getHandle(filed.workflowId).fetchHistory());
    expect(history).not.toContain('starts with the third product');
    const shown = spawnSync(
      temporalCliPath(),
      ['workflow', 'show', '--address', process.env.TEMPORAL_ADDRESS!, '--workflow-id', filed.workflowId, '--output', 'json'],
      { encoding: 'utf8' },
    );
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('encryption-key-id');
    expect(shown.stdout).not.toContain('starts with the third product');

    // The report row and the status URL tell the same story.
    const status = await fetch(`${stack.httpUrl}${filed.statusUrl}`, { headers: { authorization: `Bearer ${key}` } });
    expect(await status.json()).toMatchObject({ status: 'PR_CREATED', prUrl: outcome.pr!.url });
  });
});
