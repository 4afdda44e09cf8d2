/**
 * SIGKILL of the worker process in the middle of a fix, then a new worker: the fix resumes at the
 * step it was in and completes, with exactly one PR and no model call billed twice (the ledger
 * matches the stand-in's own record of answered calls).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROJECT_ROOT, loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import type { FixOutcome } from '../../src/domain/fix.js';
import { fileBug } from '../../src/intake/file-bug.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';
import { createBareRemote } from '../fixtures/make-remote.js';
import { paginationScenario } from '../fixtures/scenarios/pagination.js';
import { startAnthropicStandIn, type AnthropicStandIn } from '../stand-ins/anthropic.js';
import { withExtraTurn } from '../fixtures/scenarios/insert-turn.js';
import { startGitHubStandIn, type GitHubStandIn } from '../stand-ins/github.js';
import sampleBug from '../fixtures/sample-bug.json' with { type: 'json' };

/** The pagination fix, with a slow command at turn 2 during which the worker dies. */
const KILL_TURN = 2;
const scriptWithPause = withExtraTurn(paginationScenario, KILL_TURN, [{ type: 'tool_use', name: 'run_command', input: { command: 'sleep 3 && echo slept' } }]);

describe('worker crash mid-fix', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-crash-'));
  const prisma = createPrisma(loadConfig().DATABASE_URL);
  let anthropic: AnthropicStandIn;
  let github: GitHubStandIn;
  const workers: ChildProcess[] = [];

  function startWorker(): ChildProcess {
    const child = spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['src/worker-main.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ANTHROPIC_BASE_URL: anthropic.url, ANTHROPIC_API_KEY: 'stand-in-key', GITHUB_API_URL: github.url, GITHUB_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    workers.push(child);
    return child;
  }

  beforeAll(async () => {
    anthropic = await startAnthropicStandIn(scriptWithPause);
    github = await startGitHubStandIn();
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await anthropic.close();
    await github.close();
    await prisma.$disconnect();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a new worker finishes the fix: one PR, no call billed twice', async () => {
    const bare = createBareRemote('pagination', path.join(tmp, 'shop.git'));
    github.addRepo('acme', 'crash', bare);
    const suffix = Math.random().toString(36).slice(2, 8);
    const project = await upsertProject(prisma, { key: `crash-${suffix}`, name: 'Crash', repoOwner: 'acme', repoName: 'crash', cloneUrl: bare, validation: { test: 'npm test' } });
    const temporal = await connectClient();
    try {
      startWorker();
      const filed = await fileBug({ prisma, temporal, temporalUiUrl: 'http://localhost:8233' }, project, { ...sampleBug, priority: 'HIGH', source: 'test', externalId: `crash-${suffix}` });

      // Kill the worker while the slow command of turn KILL_TURN runs in the sandbox.
      await expect.poll(() => anthropic.answered.length, { timeout: 60_000, interval: 50 }).toBe(KILL_TURN + 1);
      await new Promise((r) => setTimeout(r, 1000));
      workers[0]!.kill('SIGKILL');
      startWorker();

      const outcome = (await temporal.workflow.getHandle(filed.workflowId).result()) as FixOutcome;
      expect(outcome.reason).toBeUndefined();
      expect(outcome.status).toBe('pr_created');
      expect(github.pulls('acme', 'crash')).toHaveLength(1);
      const ledger = await prisma.ledgerEntry.findMany({ where: { workflowId: filed.workflowId } });
      expect(ledger.map((l) => l.providerRequestId).sort()).toEqual(anthropic.answered.map((a) => a.requestId).sort());
      expect(new Set(ledger.map((l) => l.iteration)).size).toBe(ledger.length);
    } finally {
      await temporal.connection.close();
    }
  });
});
