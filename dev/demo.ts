/**
 * `npm run demo`: starts the stack, files the bundled sample bug report through the HTTP intake,
 * shows progress while the fix runs, and prints the PR URL, cost, iterations and the Temporal UI
 * link. Offline it uses the scripted model and the GitHub stand-in over a local git remote; with
 * ANTHROPIC_API_KEY (and GITHUB_TOKEN + DEMO_REPO=owner/name) the same run uses the real services.
 */
import { waitForFixStart } from '../src/fixes/resolve-fix.js';
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { SANDBOX_LABELS } from '../src/sandbox/container.js';
import { PROJECT_ROOT } from '../src/config.js';
import type { FixOutcome, FixStatus } from '../src/domain/fix/fix.js';
import { totalTokens } from '../src/domain/fix/pricing.js';
import { issueIntakeKey, upsertProject } from '../src/projects/project-store.js';
import { workflowUiUrl } from '../src/temporal/connect.js';
import { createBareRemote } from './fixture-remotes.js';
import { paginationScenario } from './scenarios/pagination.js';
import { statusQuery } from '../workflows/bug-fix/messages.js';
import { startStack, type Stack } from './local-stack.js';

const say = (line: string) => console.log(`[demo] ${line}`);

async function demoProject(stack: Stack) {
  if (stack.github) {
    const bare = createBareRemote('pagination', path.join(PROJECT_ROOT, '.data', 'demo', 'remotes', 'acme', 'shop.git'));
    stack.github.addRepo('acme', 'shop', bare);
    say(`Repository: acme/shop, a fresh local git remote at ${path.relative(PROJECT_ROOT, bare)}`);
    return upsertProject(stack.prisma, {
      key: 'demo-shop',
      name: 'Demo shop',
      repoOwner: 'acme',
      repoName: 'shop',
      cloneUrl: bare,
      validation: { test: 'npm test' },
    });
  }
  const repo = process.env.DEMO_REPO;
  if (!repo || !/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new Error('with GITHUB_TOKEN set, DEMO_REPO=owner/name must name the repository to fix');
  const [owner, name] = repo.split('/') as [string, string];
  return upsertProject(stack.prisma, {
    key: 'demo-github',
    name: repo,
    repoOwner: owner,
    repoName: name,
    defaultBranch: process.env.DEMO_BRANCH ?? 'main',
    validation: { test: process.env.DEMO_TEST_COMMAND ?? 'npm test' },
  });
}

function progressLine(s: FixStatus): string {
  const last = s.lastActions[s.lastActions.length - 1];
  return `phase=${s.phase} iteration=${s.iteration} tokens=${totalTokens(s.usage)} cost=$${s.costUsd.toFixed(4)}${s.paused ? ' (paused)' : ''}${last ? ` last: ${last}` : ''}`;
}

async function main(): Promise<number> {
  const stack = await startStack({ script: paginationScenario, temporal: 'persistent', log: say });
  let workflowId: string | undefined;
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) return;
    interrupted = true;
    say('Ctrl-C: cancelling the fix and stopping the stack ...');
    if (workflowId)
      void stack.temporal.workflow
        .getHandle(workflowId)
        .cancel()
        .catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const project = await demoProject(stack);
    const key = await issueIntakeKey(stack.prisma, project.id, 'demo');
    const report = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'dev', 'sample-bug.json'), 'utf8')) as Record<string, unknown>;
    const res = await fetch(`${stack.httpUrl}/api/bugs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ ...report, externalId: `demo-${Date.now()}` }),
    });
    const filed = (await res.json()) as { bugId: string; workflowId: string; error?: string };
    if (res.status !== 202) throw new Error(`intake answered ${res.status}: ${JSON.stringify(filed)}`);
    workflowId = filed.workflowId;
    say(`Filed "${String(report.title)}" → bug ${filed.bugId}, workflow ${filed.workflowId}`);
    const uiLink = workflowUiUrl(stack.config.TEMPORAL_UI_URL, stack.temporal.options.namespace, filed.workflowId);
    say(`Watch it in the Temporal UI: ${uiLink}`);

    const handle = await waitForFixStart(stack.temporal, filed.workflowId);
    // Progress from the status query until the fix ends (awaited before the connection closes).
    let finished = false;
    const watcher = (async () => {
      let lastLine = '';
      while (!finished) {
        const line = await handle.query(statusQuery).then(progressLine, () => lastLine);
        if (line !== lastLine) say((lastLine = line));
        await new Promise((r) => setTimeout(r, 400));
      }
    })();
    let outcome: FixOutcome;
    try {
      outcome = (await handle.result()) as FixOutcome;
    } catch (err) {
      if (!interrupted) throw err;
      say('The fix was cancelled and its sandbox removed.');
      return 130;
    } finally {
      finished = true;
      await watcher;
    }
    console.log('');
    say(`Result: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ''}`);
    say(`Pull request: ${outcome.pr?.url ?? 'none'}`);
    say(`Cost: $${outcome.costUsd.toFixed(4)} for ${totalTokens(outcome.usage)} tokens`);
    say(`Iterations: ${outcome.iterations}`);
    say(`Temporal UI: ${uiLink}`);
    return outcome.status === 'pr_created' ? 0 : 1;
  } catch (err) {
    say(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await stack.stop();
    if (workflowId) {
      // Belt and braces after Ctrl-C: no sandbox of this run may outlive it.
      const docker = new Docker();
      const left = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${workflowId}`] } });
      for (const c of left)
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[demo] FAILED: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
