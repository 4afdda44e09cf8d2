/**
 * `npm run bench:github`: the GitHub loop through its real endpoint, on real Temporal, Docker,
 * PostgreSQL and git with the scripted model and the GitHub stand-in. Writes
 * bench/results/github.json.
 *
 * Deliveries go to an API process of its own (`npm run api`), as deployed; the workers and the
 * stand-ins run in this process.
 * 1. Webhook answer: BENCH_DELIVERIES (default 300) signed `/bugfix` comments, each on its own
 *    issue, sent at BENCH_RATE per second (default 60), every one delivered twice. Each is stored,
 *    handed to its issue's workflow (signal-with-start), and the workflow replies (the sender has
 *    read access only): the answer's latency is measured at the sender, p50/p99.
 * 2. Issue → PR: BENCH_ISSUES (default 3) labelled issues, one after another, each delivery sent
 *    twice: time from the first delivery to the issue workflow's `pr_created`.
 * 3. Review → commit: on each of those PRs a review with two inline comments (three deliveries,
 *    each sent twice): time from the first delivery to the round's commit on the PR branch. It
 *    includes the PR workflow's quiet wait, GITHUB_ROUND_DEBOUNCE_MS (2000 here unless set).
 * `duplicateRounds` counts fixes beyond one per asked-for issue and rounds beyond one per review:
 * it must be 0.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack } from '../dev/local-stack.js';
import { createFixtureProject } from '../dev/fixture-remotes.js';
import { execFileSync } from 'node:child_process';
import { reviewRoundScenario } from '../dev/scenarios/review-round.js';
import { sendGitHubWebhook } from '../dev/stand-ins/github-webhooks.js';
import { reviewWebhooks, webhookExample } from '../dev/stand-ins/webhook-examples.js';
import sampleBug from '../dev/sample-bug.json' with { type: 'json' };
import type { GitHubIssueState } from '../workflows/github-issue/messages.js';
import { quantile, runMain, writeResult } from './support.js';
import { spawnApiProcess } from './api-process.js';

const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 300);
const RATE = Number(process.env.BENCH_RATE ?? 60);
const ISSUES = Number(process.env.BENCH_ISSUES ?? 3);
process.env.GITHUB_ROUND_DEBOUNCE_MS ??= '2000';
const SECRET = 'bench-webhook-secret';
const TARGET = { webhookAckP99Ms: 250 };

async function main(): Promise<void> {
  process.env.GITHUB_WEBHOOK_SECRET = SECRET;
  const stack = await startStack({ script: reviewRoundScenario({ threads: 2 }), temporal: 'ephemeral', httpPort: 0 });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-bench-gh-'));
  const suffix = Date.now().toString(36);
  const repo = `bench-gh-${suffix}`;
  const { project, bare } = await createFixtureProject(stack.prisma, stack.github, { key: repo, repo, dir: tmp });
  const github = stack.github!;
  github.setPermission('acme', repo, 'maintainer', 'write');
  github.setPermission('acme', repo, 'reader', 'read');
  // Deliveries go to an API process of their own, as deployed (the stack's workers run here).
  const api = await spawnApiProcess(path.join(tmp, 'api.log'));
  const url = `${api.url}/api/github/webhook`;

  const comment = (issue: number) => {
    const p = webhookExample('issue_comment.created');
    p.repository.full_name = `acme/${repo}`;
    p.repository.name = repo;
    Object.assign(p.issue, { number: issue, state: 'open', pull_request: undefined });
    p.comment.body = '/bugfix please';
    p.sender.login = 'reader';
    return p;
  };
  const labelled = (issue: number) => {
    const p = webhookExample('issues.labeled');
    p.repository.full_name = `acme/${repo}`;
    p.repository.name = repo;
    Object.assign(p.issue, { number: issue, title: sampleBug.title, body: sampleBug.description, state: 'open' });
    p.label!.name = 'bugfix';
    p.sender.login = 'maintainer';
    return p;
  };

  /** A review with two inline comments as GitHub delivers it: each comment, then the review. */
  const reviewDeliveries = (pr: number, branch: string) => {
    const { review, comments } = github.addReview('acme', repo, pr, {
      user: 'maintainer',
      state: 'CHANGES_REQUESTED',
      comments: [
        { path: 'src/paginate.js', line: 8, body: 'Please add this comment above the line: `pages are 1-based`' },
        { path: 'test/paginate.test.js', line: 8, body: 'Please add this comment above the line: `the first page is page 1`' },
      ],
    });
    return reviewWebhooks({ repoFullName: `acme/${repo}`, prNumber: pr, branch, sender: 'maintainer' }, review, comments);
  };

  try {
    // 1. Answer latency under a steady rate, each delivery twice (the redelivery right after).
    const latencies: number[] = [];
    let duplicatesAnswered = 0;
    const started = performance.now();
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < DELIVERIES; i++) {
      const due = started + (i * 1000) / RATE;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
      sends.push(
        (async () => {
          const t0 = performance.now();
          const first = await sendGitHubWebhook({ url, secret: SECRET, event: 'issue_comment', payload: comment(10_000 + i) });
          latencies.push(performance.now() - t0);
          if (first.status !== 202) throw new Error(`delivery answered ${first.status}: ${JSON.stringify(first.body)}`);
          const t1 = performance.now();
          const again = await sendGitHubWebhook({ url, secret: SECRET, event: 'issue_comment', payload: comment(10_000 + i), id: first.id });
          latencies.push(performance.now() - t1);
          if (again.body.duplicate === true) duplicatesAnswered += 1;
        })(),
      );
    }
    await Promise.all(sends);
    const sentPerSecond = (2 * DELIVERIES) / ((performance.now() - started) / 1000);
    console.log(`webhook: ${latencies.length} answers at ${sentPerSecond.toFixed(1)}/s, p99 ${quantile(latencies, 0.99).toFixed(1)} ms`);

    // 2. Issue → PR, one at a time, each delivery twice.
    const issueToPr: number[] = [];
    for (let i = 0; i < ISSUES; i++) {
      const t0 = performance.now();
      const go = await sendGitHubWebhook({ url, secret: SECRET, event: 'issues', payload: labelled(1 + i) });
      await sendGitHubWebhook({ url, secret: SECRET, event: 'issues', payload: labelled(1 + i), id: go.id });
      // The answer comes before the hand-over: the workflow may not exist for a moment yet.
      const handle = stack.temporal.workflow.getHandle(String(go.body.issueWorkflowId));
      while (
        !(await handle.describe().then(
          () => true,
          () => false,
        ))
      )
        await new Promise((r) => setTimeout(r, 50));
      const state = (await handle.result()) as GitHubIssueState;
      if (state.outcome !== 'pr_created') throw new Error(`issue ${1 + i} ended ${state.outcome}`);
      issueToPr.push(performance.now() - t0);
      console.log(`issue ${1 + i}: PR after ${issueToPr.at(-1)!.toFixed(0)} ms`);
    }

    // 3. Review → commit on each PR: one round per review, whatever arrives twice.
    const reviewToCommit: number[] = [];
    const headOf = (branch: string) =>
      execFileSync('git', ['rev-parse', `refs/heads/${branch}`], { cwd: bare })
        .toString()
        .trim();
    const bugs = await stack.prisma.bugReport.findMany({ where: { projectId: project.id }, orderBy: { createdAt: 'asc' } });
    for (const bug of bugs) {
      const branch = bug.fixBranch!;
      const before = headOf(branch);
      const t0 = performance.now();
      for (const d of reviewDeliveries(bug.prNumber!, branch)) {
        const first = await sendGitHubWebhook({ url, secret: SECRET, ...d });
        await sendGitHubWebhook({ url, secret: SECRET, ...d, id: first.id });
      }
      while (headOf(branch) === before) await new Promise((r) => setTimeout(r, 100));
      reviewToCommit.push(performance.now() - t0);
      console.log(`PR #${bug.prNumber}: review → commit in ${reviewToCommit.at(-1)!.toFixed(0)} ms`);
    }
    // The replies follow the push; the round's record is final once they are written.
    while ((await stack.prisma.pullRequestRound.count({ where: { projectId: project.id, status: 'running' } })) > 0)
      await new Promise((r) => setTimeout(r, 100));

    const fixes = await stack.prisma.bugReport.count({ where: { projectId: project.id } });
    const rounds = await stack.prisma.pullRequestRound.count({ where: { projectId: project.id } });
    const result = {
      deliveries: DELIVERIES * 2,
      deliveriesPerSecond: Number(sentPerSecond.toFixed(1)),
      webhookAckP50Ms: Math.round(quantile(latencies, 0.5)),
      webhookAckP99Ms: Math.round(quantile(latencies, 0.99)),
      duplicatesAnswered,
      issues: ISSUES,
      issueToPrP50Ms: Math.round(quantile(issueToPr, 0.5)),
      reviewToCommitP50Ms: Math.round(quantile(reviewToCommit, 0.5)),
      roundDebounceMs: Number(process.env.GITHUB_ROUND_DEBOUNCE_MS),
      fixes,
      rounds,
      duplicateRounds: fixes - ISSUES + (rounds - bugs.length),
      targetWebhookAckP99Ms: TARGET.webhookAckP99Ms,
      p99ToTargetRatio: Number((quantile(latencies, 0.99) / TARGET.webhookAckP99Ms).toFixed(3)),
    };
    writeResult('github', result);
  } finally {
    await api.stop();
    await stack.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
