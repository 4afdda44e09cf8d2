/**
 * SIGKILL of the worker process in the middle of a fix, then a new worker: the fix resumes at the
 * step it was in and completes, with exactly one PR and no model call billed twice (the ledger
 * matches the stand-in's own record of answered calls).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROJECT_ROOT, loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { fileBug } from '../../src/intake/file-bug.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';
import { createBareRemote, createFixtureProject } from '../../dev/fixture-remotes.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import { startAnthropicStandIn, type AnthropicStandIn } from '../../dev/stand-ins/anthropic-api.js';
import { withExtraTurn } from '../support/insert-turn.js';
import { startGitHubStandIn, type GitHubStandIn } from '../../dev/stand-ins/github-api.js';
import { startNotificationStandIns, type NotificationStandIns } from '../../dev/stand-ins/notifications.js';
import sampleBug from '../../dev/sample-bug.json' with { type: 'json' };

/** The pagination fix, with a slow command at turn 2 during which the worker dies. */
const KILL_TURN = 2;
/** What a GitHub installation token looks like; it must never leave the worker host's git and Octokit. */
const TOKEN = 'ghs_SENTINELtoken0123456789abcdefghijklmn';
const scriptWithPause = withExtraTurn(paginationScenario, KILL_TURN, [{ type: 'tool_use', name: 'run_command', input: { command: 'sleep 3 && echo slept' } }]);

describe('worker crash mid-fix', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-crash-'));
  const prisma = createPrisma(loadConfig().DATABASE_URL);
  let anthropic: AnthropicStandIn;
  let github: GitHubStandIn;
  let notifications: NotificationStandIns;
  const workers: ChildProcess[] = [];

  const logs: string[] = [];
  function startWorker(): ChildProcess {
    // One process (node with tsx's loader), not the tsx wrapper: SIGKILL must hit the worker itself.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        ANTHROPIC_BASE_URL: anthropic.url,
        ANTHROPIC_API_KEY: 'stand-in-key',
        GITHUB_API_URL: github.url,
        GITHUB_TOKEN: TOKEN,
        SMTP_URL: notifications.smtpUrl,
        TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
        TWILIO_AUTH_TOKEN: 'twilio-test-token',
        TWILIO_WHATSAPP_FROM: '+15550000000',
        TWILIO_API_URL: notifications.http.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => logs.push(c.toString()));
    child.stderr!.on('data', (c: Buffer) => logs.push(c.toString()));
    workers.push(child);
    return child;
  }
  const killWorker = async (w: ChildProcess) => {
    if (w.exitCode !== null || w.signalCode !== null) return;
    const exited = new Promise((r) => w.once('exit', r));
    w.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    anthropic = await startAnthropicStandIn(scriptWithPause);
    github = await startGitHubStandIn({ token: TOKEN });
    notifications = await startNotificationStandIns();
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await anthropic.close();
    await github.close();
    await notifications.close();
    await prisma.$disconnect();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a new worker finishes the fix: one PR, no call billed twice', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const { project } = await createFixtureProject(prisma, github, { key: `crash-${suffix}`, repo: 'crash', dir: tmp });
    const temporal = await connectClient();
    try {
      startWorker();
      const filed = await fileBug({ prisma, temporal, temporalUiUrl: 'http://localhost:8233' }, project, {
        ...sampleBug,
        priority: 'HIGH',
        source: 'test',
        externalId: `crash-${suffix}`,
      });

      // Kill the worker while the slow command of turn KILL_TURN runs in the sandbox.
      await expect.poll(() => anthropic.answered.length, { timeout: 60_000, interval: 50 }).toBe(KILL_TURN + 1);
      await new Promise((r) => setTimeout(r, 1000));
      await killWorker(workers[0]!);
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

  test('killed between push and PR creation: one PR; the token appears nowhere', async () => {
    const bare = createBareRemote('pagination', path.join(tmp, 'shop2.git'));
    github.addRepo('acme', 'between', bare);
    // One turn shows the model everything the sandbox has: environment, git config, files.
    anthropic.setScript(
      withExtraTurn(paginationScenario, 2, [
        { type: 'tool_use', name: 'run_command', input: { command: 'env; cat .git/config; grep -rIl ghs_ /workspace /tmp 2>/dev/null; true' } },
      ]),
    );
    const suffix = Math.random().toString(36).slice(2, 8);
    const project = await upsertProject(prisma, {
      key: `between-${suffix}`,
      name: 'Between',
      repoOwner: 'acme',
      repoName: 'between',
      cloneUrl: bare,
      validation: { test: 'npm test' },
    });
    await prisma.project.update({
      where: { id: project.id },
      data: {
        notifications: {
          slack: { webhookUrl: `${notifications.http.url}/slack/T1/B1/between` },
          email: { to: ['team-between@shop.example'] },
          whatsapp: { to: ['+15551230000'] },
          webhook: { url: `${notifications.http.url}/hooks/between`, secret: 'whsec_between_0123456789' },
        },
      },
    });
    const temporal = await connectClient();
    try {
      for (const w of workers) await killWorker(w);
      const first = startWorker();
      // The PR call is held open; the worker dies with the branch pushed and no PR yet.
      github.fault({ pathPart: '/pulls', method: 'POST', holdMs: 120_000 });
      const filed = await fileBug({ prisma, temporal, temporalUiUrl: 'http://localhost:8233' }, project, {
        ...sampleBug,
        priority: 'HIGH',
        source: 'test',
        externalId: `between-${suffix}`,
      });
      await expect.poll(() => github.held(), { timeout: 90_000, interval: 100 }).toBe(1);
      expect(execFileSync('git', ['branch', '--list', 'fix/*'], { cwd: bare }).toString()).toContain('fix/bug-');
      await killWorker(first);
      startWorker();

      const handle = temporal.workflow.getHandle(filed.workflowId);
      const outcome = (await handle.result()) as FixOutcome;
      expect(outcome.status).toBe('pr_created');
      expect(github.pulls('acme', 'between')).toHaveLength(1);
      expect(execFileSync('git', ['branch', '--list', 'fix/*'], { cwd: bare }).toString().trim().split('\n')).toHaveLength(1);
      // One notice per channel, though delivery ran twice.
      expect(notifications.slack).toHaveLength(1);
      expect(notifications.mails).toHaveLength(1);
      expect(notifications.twilio).toHaveLength(1);
      expect(notifications.hooks).toHaveLength(1);
      expect(notifications.hooks[0]!.body).toMatchObject({ event: 'pr_opened', prUrl: outcome.pr!.url });
      expect(JSON.stringify([notifications.slack, notifications.mails, notifications.twilio, notifications.hooks])).not.toContain(TOKEN);

      // Octokit used it; nothing else shows it.
      expect(github.requests.some((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
      const transcript = await prisma.agentTurn.findMany({ where: { workflowId: filed.workflowId } });
      expect(JSON.stringify(transcript)).toContain('HOME=/tmp'); // the env dump is really there
      expect(JSON.stringify(transcript)).not.toContain(TOKEN);
      const history = await handle.fetchHistory();
      expect(JSON.stringify(history)).not.toContain(TOKEN);
      expect(logs.join('')).not.toContain(TOKEN);
      expect(github.pulls('acme', 'between')[0]!.body).not.toContain(TOKEN);
    } finally {
      await temporal.connection.close();
    }
  });
});
