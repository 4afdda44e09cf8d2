/**
 * A follow-up round through real parts: a labelled issue gets its fix and PR (as in
 * github-issues.test.ts); then a review with two inline comments arrives as signed webhooks (the
 * real example payloads, each delivered twice) → the PR's workflow on a real Temporal server waits
 * for quiet, runs ONE round as a child fix workflow in a real sandbox cloned from the PR branch →
 * one commit on the same branch addressing both threads → a reply in each thread and the round on
 * the status comment. A thread on a forbidden path is answered with why, and nothing is pushed.
 * A failing check on the new head brings round 2 from its log; round 3 is killed through its own
 * workflow and says so in its threads; a reviewer without write access gets a reply and no round; the round limit holds. The PR is closed; a further review
 * starts nothing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { reviewRoundScenario } from '../../dev/scenarios/review-round.js';
import { sendGitHubWebhook } from '../../dev/stand-ins/github-webhooks.js';
import sampleBug from '../../dev/sample-bug.json' with { type: 'json' };
import { statusMarker } from '../../src/domain/github/status-comment.js';
import type { GitHubIssueState } from '../../workflows/github-issue/messages.js';
import type { GitHubPullState } from '../../workflows/github-pull/messages.js';
import { updateProject } from '../../src/projects/project-store.js';
import { reviewWebhooks, webhookExample, webhookExamples } from '../../dev/stand-ins/webhook-examples.js';
import { killSignal } from '../../workflows/bug-fix/messages.js';
import type { FixStatus } from '../../src/domain/fix/fix.js';

const SECRET = 'webhook-secret-of-the-test';
const ENV = { GITHUB_WEBHOOK_SECRET: SECRET, GITHUB_ROUND_DEBOUNCE_MS: '1500' };

describe('GitHub follow-up rounds', () => {
  let stack: Stack;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-ghpr-'));
  const saved = Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]]));

  beforeAll(async () => {
    Object.assign(process.env, ENV);
    stack = await startStack({ script: reviewRoundScenario({ threads: 2 }), temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A project whose labelled issue got its fix and PR (as in github-issues.test.ts). */
  async function fixedIssue(repo: string, opts: { fork?: boolean } = {}) {
    const { project, bare } = await createFixtureProject(stack.prisma, stack.github, { key: repo, repo, dir: tmp });
    if (opts.fork) await updateProject(stack.prisma, repo, { delivery: { mode: 'fork' } });
    const github = stack.github!;
    github.setPermission('acme', repo, 'maintainer', 'write');
    const url = `${stack.httpUrl}/api/github/webhook`;
    // The webhook answers once the delivery is stored; the test goes on once it is handed over.
    const send = async (event: string, payload: unknown, id?: string) => {
      const answer = await sendGitHubWebhook({ url, secret: SECRET, event, payload, id });
      if (answer.status === 202 && !answer.body.ignored)
        await expect
          .poll(async () => (await stack.prisma.gitHubDelivery.findUnique({ where: { id: answer.id } }))?.outcome, { timeout: 30_000 })
          .toBe('dispatched');
      return answer;
    };
    const labelled = webhookExample('issues.labeled');
    labelled.repository.full_name = `acme/${repo}`;
    Object.assign(labelled.issue, { number: 7, title: sampleBug.title, body: sampleBug.description, state: 'open' });
    labelled.label!.name = 'bugfix';
    labelled.sender.login = 'maintainer';
    const filed = await send('issues', labelled);
    const issueState = (await stack.temporal.workflow.getHandle(filed.body.issueWorkflowId as string).result()) as GitHubIssueState;
    expect(issueState.outcome).toBe('pr_created');
    const bug = await stack.prisma.bugReport.findFirstOrThrow({ where: { projectId: project.id } });
    // The PR's events as GitHub sends them (the example payloads, pointed at this PR).
    const onPull = <P extends { repository: { full_name: string }; sender: { login: string } }>(p: P, extra: (p: P) => void): P => {
      p.repository.full_name = `acme/${repo}`;
      p.sender.login = 'maintainer';
      extra(p);
      return p;
    };
    const prFields = { number: bug.prNumber!, head: { ...webhookExample('pull_request_review.submitted').pull_request.head, ref: bug.fixBranch! } };
    /** A review's inline comments and the review itself, as the webhooks GitHub sends for them. */
    const reviewDeliveries = (review: Record<string, unknown>, comments: Array<Record<string, unknown>>) =>
      reviewWebhooks({ repoFullName: `acme/${repo}`, prNumber: bug.prNumber!, branch: bug.fixBranch!, sender: 'maintainer' }, review, comments);
    return { project, bare, github, send, bug, branch: bug.fixBranch!, pr: bug.prNumber!, onPull, prFields, reviewDeliveries };
  }

  /** The two inline comments the scripted round answers. */
  const twoComments = [
    { path: 'src/paginate.js', line: 8, body: 'Please add this comment above the line: `pages are 1-based`' },
    { path: 'test/paginate.test.js', line: 8, body: 'Please add this comment above the line: `the first page is page 1`' },
  ];

  test('a review with two inline comments gets one commit on the PR branch and a reply in each thread; none after close', async () => {
    const repo = `ghpr-${Math.random().toString(36).slice(2, 8)}`;
    const { project, bare, github, send, bug, branch, pr, onPull, prFields, reviewDeliveries } = await fixedIssue(repo);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: bare }).toString().trim();
    const fixHead = git('rev-parse', `refs/heads/${branch}`);

    // Someone else's PR (not opened by the service) is ignored, with the reason recorded.
    const foreign = await send(
      'pull_request_review',
      onPull(webhookExample('pull_request_review.submitted'), (p) => Object.assign(p.pull_request, { number: 99 })),
    );
    expect(foreign).toMatchObject({ status: 202, body: { ignored: 'pull request #99 was not opened by the service' } });

    // A review with two inline comments; every delivery arrives twice.
    const started = Date.now();
    const { review, comments } = github.addReview('acme', repo, pr, {
      user: 'maintainer',
      state: 'CHANGES_REQUESTED',
      body: 'Two small things.',
      comments: twoComments,
    });
    const deliveries = reviewDeliveries(review, comments);
    const pullWorkflowId = `github-pr:acme/${repo}#${pr}`;
    for (const d of deliveries) {
      const first = await send(d.event, d.payload);
      expect(first).toMatchObject({ status: 202, body: { pullWorkflowId } });
      expect(await send(d.event, d.payload, first.id)).toMatchObject({ status: 200, body: { duplicate: true } });
    }

    // One round, one commit on top of the fix's head, touching both files.
    const pull = stack.temporal.workflow.getHandle(pullWorkflowId);
    const replies = () => github.reviewComments('acme', repo, pr).filter((c) => c.inReplyTo);
    await expect.poll(() => replies().length, { timeout: 240_000, interval: 500 }).toBe(2);
    const roundMs = Date.now() - started;
    const head = git('rev-parse', `refs/heads/${branch}`);
    expect(git('rev-list', '--count', `${fixHead}..${head}`)).toBe('1');
    expect(git('rev-parse', `${head}^`)).toBe(fixHead);
    expect(git('show', `${head}:src/paginate.js`)).toContain('  // pages are 1-based\n  const start = (page - 1) * size;');
    expect(git('show', `${head}:test/paginate.test.js`)).toContain('// the first page is page 1\ntest(');
    expect(git('log', '-1', '--format=%s', head)).toBe('Address review feedback (round 1)');

    // A reply in each thread, naming the commit.
    expect(
      replies()
        .map((c) => c.inReplyTo)
        .sort(),
    ).toEqual(comments.map((c) => c.id).sort());
    for (const r of replies()) expect(r.body).toContain(`Addressed in ${head} (round 1).`);
    // The replies are written by the round's last activity; the workflow's state follows it.
    await expect.poll(async () => (await pull.query<GitHubPullState>('pullState')).rounds.length, { timeout: 30_000 }).toBe(1);
    const state = await pull.query<GitHubPullState>('pullState');
    expect(state.rounds).toEqual([
      expect.objectContaining({ round: 1, status: 'pushed', commitSha: head, threads: 2, workflowId: `${bug.workflowId}-round-1` }),
    ]);
    expect(state.handledDeliveries).toBe(3);
    const status = github.commentRecords('acme', repo, 7).find((c) => c.body.includes(statusMarker(bug.id)))!;
    expect(status.body).toContain(`- Round 1 (2 review threads): pushed ${head.slice(0, 12)}`);
    // The bug keeps its PR and status; the round is the child's own fix workflow.
    expect(await stack.prisma.bugReport.findUniqueOrThrow({ where: { id: bug.id } })).toMatchObject({ status: 'PR_CREATED', prNumber: pr, fixBranch: branch });
    const child = await stack.temporal.workflow.getHandle(`${bug.workflowId}-round-1`).describe();
    expect(child.status.name).toBe('COMPLETED');
    console.log(`follow-up round: review → replies in ${roundMs} ms`);

    // A thread on a path the project forbids is answered with the reason; no round, nothing pushed.
    await stack.prisma.project.update({ where: { id: project.id }, data: { scopeLimits: { forbiddenPaths: ['test/**'] } } });
    const scoped = github.addReview('acme', repo, pr, {
      user: 'maintainer',
      state: 'COMMENTED',
      comments: [{ path: 'test/paginate.test.js', line: 9, body: 'Please add this comment above the line: `nope`' }],
    });
    const scopedAnswer = await send(
      'pull_request_review_comment',
      onPull(webhookExample('pull_request_review_comment.created'), (p) => {
        Object.assign(p.pull_request, prFields);
        Object.assign(p.comment, scoped.comments[0]);
      }),
    );
    expect(scopedAnswer.body.pullWorkflowId).toBe(pullWorkflowId);
    await expect.poll(() => replies().length, { timeout: 60_000, interval: 500 }).toBe(3);
    const refusal = replies().find((c) => c.inReplyTo === scoped.comments[0]!.id)!;
    expect(refusal.body).toContain('Not addressed: `test/paginate.test.js` is outside what the bug-fixing service may change');
    await expect.poll(async () => (await pull.query<GitHubPullState>('pullState')).notes.join(' '), { timeout: 30_000 }).toContain('forbidden paths (1)');
    expect(git('rev-parse', `refs/heads/${branch}`)).toBe(head);

    // A reviewer without write access gets a polite reply on the PR; no round starts.
    github.setPermission('acme', repo, 'reader', 'read');
    const unasked = github.addReview('acme', repo, pr, {
      user: 'reader',
      state: 'COMMENTED',
      comments: [{ path: 'src/paginate.js', line: 7, body: 'Please add this comment above the line: `mine`' }],
    });
    await send(
      'pull_request_review_comment',
      onPull(webhookExample('pull_request_review_comment.created'), (p) => {
        Object.assign(p.pull_request, prFields);
        Object.assign(p.comment, unasked.comments[0]);
        p.sender.login = 'reader';
      }),
    );
    await expect.poll(() => github.comments('acme', repo, pr).join('\n'), { timeout: 30_000 }).toContain('@reader thanks for asking');
    expect((await pull.query<GitHubPullState>('pullState')).declined).toEqual(['reader']);

    // A failing check on the PR's head (reported by GitHub Actions, delivered twice): its job log,
    // fetched through the API and cut to head and tail, drives round 2 on top of round 1's commit.
    const checkStarted = Date.now();
    const lint = github.addCheckRun('acme', repo, {
      name: 'lint',
      headSha: head,
      conclusion: 'failure',
      app: 'github-actions',
      output: { title: '1 problem', summary: 'lint found 1 problem', text: null },
      log: [
        '> eslint .',
        ...Array.from({ length: 3000 }, (_, i) => `checked file ${i}`),
        'src/paginate.js:10: expected a comment `one page of items` above this line',
        '1 problem',
      ].join('\n'),
    });
    const checkPayload = onPull(
      webhookExamples('check_run.completed').find((e) => e.check_run.conclusion === 'failure')!,
      (p) => {
        const [listed] = p.check_run.pull_requests;
        Object.assign(p.check_run, lint, {
          check_suite: { ...p.check_run.check_suite, head_branch: branch, head_sha: head },
          pull_requests: [{ ...listed!, number: pr, head: { ...listed!.head, ref: branch, sha: head } }],
        });
      },
    );
    checkPayload.sender = { ...checkPayload.sender, login: 'github-actions[bot]', type: 'Bot' };
    const checkAnswer = await send('check_run', checkPayload);
    expect(checkAnswer.body.pullWorkflowId).toBe(pullWorkflowId);
    expect(await send('check_run', checkPayload, checkAnswer.id)).toMatchObject({ status: 200, body: { duplicate: true } });
    const prNote = () => github.comments('acme', repo, pr).find((b) => b.includes('Failing checks, round 2'));
    await expect.poll(prNote, { timeout: 240_000, interval: 500 }).toBeTruthy();
    const checkMs = Date.now() - checkStarted;
    const head2 = git('rev-parse', `refs/heads/${branch}`);
    expect(git('rev-parse', `${head2}^`)).toBe(head);
    expect(git('show', `${head2}:src/paginate.js`)).toContain('  // one page of items\n  return items.slice(start, start + size);');
    expect(prNote()).toContain(`Addressed in ${head2} (round 2).`);
    const feedback = (await stack.prisma.pullRequestRound.findUniqueOrThrow({ where: { id: `${bug.workflowId}-round-2` } })).feedback;
    expect(feedback).toContain('Check "lint" concluded failure');
    expect(feedback).toContain('characters cut');
    expect(feedback.length).toBeLessThan(14_000);
    console.log(`check round: failed check → PR comment in ${checkMs} ms`);

    // A round is a fix workflow like any other: killed while it runs, it pushes nothing and its threads say why.
    const third = github.addReview('acme', repo, pr, {
      user: 'maintainer',
      state: 'COMMENTED',
      comments: [
        { path: 'src/paginate.js', line: 11, body: 'Please add this comment above the line: `end`' },
        { path: 'src/paginate.js', line: 3, body: 'Please add this comment above the line: `doc`' },
      ],
    });
    for (const c of third.comments) {
      await send(
        'pull_request_review_comment',
        onPull(webhookExample('pull_request_review_comment.created'), (p) => {
          Object.assign(p.pull_request, prFields);
          Object.assign(p.comment, c);
        }),
      );
    }
    const round3 = stack.temporal.workflow.getHandle(`${bug.workflowId}-round-3`);
    await expect
      .poll(
        () =>
          round3.describe().then(
            (d) => d.status.name,
            () => 'none',
          ),
        { timeout: 60_000, interval: 200 },
      )
      .toBe('RUNNING');
    await round3.signal(killSignal, { reason: 'stopped by the reviewer', actor: 'ops' });
    await expect.poll(() => replies().length, { timeout: 60_000, interval: 500 }).toBe(5);
    for (const c of third.comments)
      expect(replies().find((x) => x.inReplyTo === c.id)!.body).toContain('Round 3 pushed nothing: killed by ops: stopped by the reviewer');
    expect(git('rev-parse', `refs/heads/${branch}`)).toBe(head2);

    // The project allows 3 rounds per PR: a further request gets none.
    await stack.prisma.project.update({ where: { id: project.id }, data: { github: { maxRoundsPerPr: 3 } } });
    const more = github.addReview('acme', repo, pr, {
      user: 'maintainer',
      state: 'COMMENTED',
      comments: [{ path: 'src/paginate.js', line: 7, body: 'And one more.' }],
    });
    await send(
      'pull_request_review_comment',
      onPull(webhookExample('pull_request_review_comment.created'), (p) => {
        Object.assign(p.pull_request, prFields);
        Object.assign(p.comment, more.comments[0]);
      }),
    );
    await expect
      .poll(async () => (await pull.query<GitHubPullState>('pullState')).notes.join(' '), { timeout: 30_000 })
      .toContain('round limit reached (3 per pull request)');

    // The PR is merged: the workflow ends; a later review starts nothing.
    github.closePull('acme', repo, pr, true);
    const closed = await send(
      'pull_request',
      onPull(webhookExample('pull_request.closed'), (p) => Object.assign(p.pull_request, { ...prFields, merged: true })),
    );
    expect(closed.body.pullWorkflowId).toBe(pullWorkflowId);
    const ended = (await pull.result()) as GitHubPullState;
    expect(ended).toMatchObject({
      closed: true,
      rounds: [
        expect.objectContaining({ round: 1 }),
        expect.objectContaining({ round: 2, status: 'pushed' }),
        expect.objectContaining({ round: 3, status: 'cancelled' }),
      ],
    });

    const late = github.addReview('acme', repo, pr, {
      user: 'maintainer',
      state: 'COMMENTED',
      comments: [{ path: 'src/paginate.js', line: 9, body: 'One more?' }],
    });
    const lateAnswer = await send(
      'pull_request_review_comment',
      onPull(webhookExample('pull_request_review_comment.created'), (p) => {
        Object.assign(p.pull_request, { ...prFields, state: 'closed' });
        Object.assign(p.comment, late.comments[0]);
      }),
    );
    expect(lateAnswer.body.pullWorkflowId).toBe(pullWorkflowId);
    const after = (await stack.temporal.workflow.getHandle(pullWorkflowId).result()) as GitHubPullState;
    expect(after.rounds).toEqual([]);
    expect(after.notes.join(' ')).toContain('merged: no round');
    expect(git('rev-parse', `refs/heads/${branch}`)).toBe(head2);
    expect(await stack.prisma.pullRequestRound.count({ where: { prNumber: pr, repoFullName: `acme/${repo}` } })).toBe(3);
    expect(replies()).toHaveLength(5);
  });

  test('with fork delivery, rounds clone the bot fork and push there; a failed check suite is routed by branch; budget and merge end them', async () => {
    const repo = `ghpr-fork-${Math.random().toString(36).slice(2, 8)}`;
    const { project, bare, github, send, bug, branch, pr, onPull, prFields, reviewDeliveries } = await fixedIssue(repo, { fork: true });
    const fork = github.bareDir('bugfix-bot', repo)!;
    const gitIn = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir }).toString().trim();
    const fixHead = gitIn(fork, 'rev-parse', `refs/heads/${branch}`);
    const spent = async () => Number((await stack.prisma.ledgerEntry.aggregate({ where: { bugId: bug.id }, _sum: { costUsd: true } }))._sum.costUsd);
    const setGitHub = (github: object) => stack.prisma.project.update({ where: { id: project.id }, data: { github } });
    // The PR may cost $1.50 more than its fix did: round 1 gets that, not the per-fix $8.
    await setGitHub({ maxCostUsdPerPr: (await spent()) + 1.5 });

    const { review, comments } = github.addReview('acme', repo, pr, { user: 'maintainer', state: 'CHANGES_REQUESTED', comments: twoComments });
    for (const d of reviewDeliveries(review, comments)) expect(await send(d.event, d.payload)).toMatchObject({ status: 202 });
    const replies = () => github.reviewComments('acme', repo, pr).filter((c) => c.inReplyTo);
    await expect.poll(() => replies().length, { timeout: 240_000, interval: 500 }).toBe(2);

    // One commit on the fork's branch, on the fix's head; the upstream never gets a branch.
    const head = gitIn(fork, 'rev-parse', `refs/heads/${branch}`);
    expect(gitIn(fork, 'rev-parse', `${head}^`)).toBe(fixHead);
    expect(gitIn(fork, 'show', `${head}:src/paginate.js`)).toContain('// pages are 1-based');
    expect(gitIn(bare, 'for-each-ref', '--format=%(refname)', 'refs/heads')).toBe('refs/heads/main');
    for (const r of replies()) expect(r.body).toContain(`Addressed in ${head} (round 1).`);
    expect(await stack.prisma.pullRequestRound.findFirstOrThrow({ where: { bugId: bug.id } })).toMatchObject({
      status: 'pushed',
      commitSha: head,
      headSha: fixHead,
    });
    const round1 = await stack.temporal.workflow.getHandle(`${bug.workflowId}-round-1`).query<FixStatus>('status');
    expect(round1.budgets.maxCostUsd).toBeLessThanOrEqual(1.5);
    expect(round1.budgets.maxCostUsd).toBeGreaterThan(1.4);

    // A failed check suite on the fork's branch lists no PR (GitHub leaves fork PRs out): the
    // branch finds it, and the suite is read as its failed run's log.
    await setGitHub({});
    const suiteId = 900 + pr;
    github.addCheckRun('acme', repo, {
      name: 'lint',
      headSha: head,
      conclusion: 'failure',
      app: 'github-actions',
      suiteId,
      output: { title: '1 problem', summary: null, text: null },
      log: 'src/paginate.js:10: expected a comment `one page of items` above this line',
    });
    const suite = webhookExample('check_suite.completed');
    suite.repository.full_name = `acme/${repo}`;
    suite.sender = { ...suite.sender, login: 'github-actions[bot]', type: 'Bot' };
    Object.assign(suite.check_suite, { id: suiteId, conclusion: 'failure', head_branch: branch, head_sha: head, pull_requests: [] });
    expect(await send('check_suite', suite)).toMatchObject({ status: 202, body: { pullWorkflowId: `github-pr:acme/${repo}#${pr}` } });
    await expect
      .poll(() => github.comments('acme', repo, pr).some((b) => b.includes('Failing checks, round 2')), { timeout: 240_000, interval: 500 })
      .toBe(true);
    const head2 = gitIn(fork, 'rev-parse', `refs/heads/${branch}`);
    expect(gitIn(fork, 'rev-parse', `${head2}^`)).toBe(head);
    expect(gitIn(fork, 'show', `${head2}:src/paginate.js`)).toContain('// one page of items');

    // The PR's budget spent: a further review gets no round.
    await setGitHub({ maxCostUsdPerPr: await spent() });
    const pull = stack.temporal.workflow.getHandle(`github-pr:acme/${repo}#${pr}`);
    const more = github.addReview('acme', repo, pr, { user: 'maintainer', state: 'COMMENTED', comments: [twoComments[0]!] });
    for (const d of reviewDeliveries(more.review, more.comments)) await send(d.event, d.payload);
    await expect.poll(async () => (await pull.query<GitHubPullState>('pullState')).notes.join(' '), { timeout: 30_000 }).toContain('pull request budget spent');

    // Merged: the PR's workflow ends with two rounds, and the fork's branch is where round 2 left it.
    github.closePull('acme', repo, pr, true);
    await send(
      'pull_request',
      onPull(webhookExample('pull_request.closed'), (p) => Object.assign(p.pull_request, { ...prFields, merged: true })),
    );
    const ended = (await pull.result()) as GitHubPullState;
    expect(ended).toMatchObject({ closed: true, rounds: [expect.objectContaining({ round: 1 }), expect.objectContaining({ round: 2, status: 'pushed' })] });
    expect(gitIn(fork, 'rev-parse', `refs/heads/${branch}`)).toBe(head2);
  });
});
