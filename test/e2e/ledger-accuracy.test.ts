/**
 * The cost ledger agrees with what the model provider actually answered, to 1e-6 USD, through a
 * fix where about 30% of model requests fail (429, 500, 529) and are retried: failed attempts are
 * never billed, answered ones exactly once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { costUnits, unitsToUsd } from '../../src/domain/fix/pricing.js';
import { fileBug } from '../../src/intake/file-bug.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import sampleBug from '../../dev/sample-bug.json' with { type: 'json' };

const SEED = Number(process.env.LEDGER_TEST_SEED ?? 20261123);

describe('ledger accuracy under model API failures', () => {
  let stack: Stack;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-ledger-'));
  beforeAll(async () => {
    stack = await startStack({ script: paginationScenario, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test(`matches the provider's own record to 1e-6 USD (seed ${SEED})`, async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const { project } = await createFixtureProject(stack.prisma, stack.github, { key: `ledger-${suffix}`, repo: 'ledger', dir: tmp });
    stack.anthropic!.failRandomly({ rate: 0.3, statuses: [429, 500, 529], seed: SEED });
    const filed = await fileBug({ prisma: stack.prisma, temporal: stack.temporal, temporalUiUrl: 'http://localhost:8233' }, project, {
      ...sampleBug,
      priority: 'HIGH',
      source: 'test',
      externalId: `ledger-${suffix}`,
    });
    const outcome = (await stack.temporal.workflow.getHandle(filed.workflowId).result()) as FixOutcome;
    stack.anthropic!.failRandomly(null);
    expect(outcome.status).toBe('pr_created');

    const answered = stack.anthropic!.answered;
    expect(stack.anthropic!.received.length).toBeGreaterThan(answered.length); // failures really happened
    const ledger = await stack.prisma.ledgerEntry.findMany({ where: { workflowId: filed.workflowId } });
    expect(ledger.map((l) => l.providerRequestId).sort()).toEqual(answered.map((a) => a.requestId).sort());

    const providerUsd = answered.reduce(
      (sum, a) =>
        sum +
        unitsToUsd(
          costUnits(a.model, {
            inputTokens: a.usage.input_tokens,
            outputTokens: a.usage.output_tokens,
            cacheCreationTokens: a.usage.cache_creation_input_tokens,
            cacheReadTokens: a.usage.cache_read_input_tokens,
          }),
        ),
      0,
    );
    const ledgerUsd = ledger.reduce((sum, l) => sum + Number(l.costUsd), 0);
    expect(Math.abs(ledgerUsd - providerUsd)).toBeLessThan(1e-6);
    expect(Math.abs(outcome.costUsd - providerUsd)).toBeLessThan(1e-6);
  });
});
