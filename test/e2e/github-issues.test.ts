/**
 * The GitHub issue loop through real parts: signed webhook deliveries (the real example payloads,
 * pointed at a fixture repository) → POST /api/github/webhook → the issue's workflow on a real
 * Temporal server → permission checked through Octokit on the GitHub stand-in → the fix in a real
 * sandbox → one status comment, created and edited as the fix goes, ending with the PR link.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import { sendGitHubWebhook } from '../../dev/stand-ins/github-webhooks.js';
import sampleBug from '../../dev/sample-bug.json' with { type: 'json' };
import { statusMarker } from '../../src/domain/github/status-comment.js';
import type { GitHubIssueState } from '../../workflows/github-issue/messages.js';
import { webhookExample } from '../../dev/stand-ins/webhook-examples.js';

const SECRET = 'webhook-secret-of-the-test';

describe('GitHub issues', () => {
  let stack: Stack;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-gh-'));
  const saved = process.env.GITHUB_WEBHOOK_SECRET;

  beforeAll(async () => {
    process.env.GITHUB_WEBHOOK_SECRET = SECRET;
    stack = await startStack({ script: paginationScenario, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
    if (saved === undefined) delete process.env.GITHUB_WEBHOOK_SECRET;
    else process.env.GITHUB_WEBHOOK_SECRET = saved;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a labelled issue gets a fix, one status comment that ends with the PR, and nothing twice', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const repo = `gh-${suffix}`;
    const { project } = await createFixtureProject(stack.prisma, stack.github, { key: `gh-${suffix}`, repo, dir: tmp });
    const github = stack.github!;
    github.setPermission('acme', repo, 'maintainer', 'write');
    github.setPermission('acme', repo, 'reader', 'read');
    const url = `${stack.httpUrl}/api/github/webhook`;
    const labelled = (by: string) => {
      const p = webhookExample('issues.labeled');
      p.repository.full_name = `acme/${repo}`;
      p.repository.name = repo;
      Object.assign(p.issue, { number: 7, title: sampleBug.title, body: sampleBug.description, state: 'open' });
      p.label!.name = 'bugfix';
      p.sender.login = by;
      return p;
    };

    // A wrong signature is refused before anything is stored.
    const forged = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': 'forged-1', 'x-hub-signature-256': 'sha256=00' },
      body: JSON.stringify(labelled('maintainer')),
    });
    expect(forged.status).toBe(401);
    expect(await stack.prisma.gitHubDelivery.findUnique({ where: { id: 'forged-1' } })).toBeNull();

    // Someone with read access asks: a polite reply, no fix.
    const asked = await sendGitHubWebhook({ url, secret: SECRET, event: 'issues', payload: labelled('reader') });
    expect(asked.status).toBe(202);
    const issueWorkflowId = asked.body.issueWorkflowId as string;
    expect(issueWorkflowId).toBe(`github-issue:acme/${repo}#7`);
    const issueWorkflow = stack.temporal.workflow.getHandle(issueWorkflowId);
    await expect.poll(() => github.comments('acme', repo, 7).join('\n'), { timeout: 30_000 }).toContain('@reader');
    expect(github.comments('acme', repo, 7).join('\n')).toContain('write access');
    expect(await stack.prisma.bugReport.count({ where: { projectId: project.id } })).toBe(0);

    // A maintainer labels it; GitHub redelivers that delivery: one fix.
    const go = await sendGitHubWebhook({ url, secret: SECRET, event: 'issues', payload: labelled('maintainer') });
    expect(go.body.issueWorkflowId).toBe(issueWorkflowId);
    const again = await sendGitHubWebhook({ url, secret: SECRET, event: 'issues', payload: labelled('maintainer'), id: go.id });
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);

    const state = (await issueWorkflow.result()) as GitHubIssueState;
    expect(state.declined).toEqual(['reader']);
    expect(state.outcome).toBe('pr_created');
    expect(await stack.prisma.bugReport.count({ where: { projectId: project.id } })).toBe(1);
    const bug = await stack.prisma.bugReport.findFirstOrThrow({ where: { projectId: project.id } });
    expect(bug).toMatchObject({ source: 'github', githubIssueNumber: 7, reporter: 'github:maintainer' });

    // One PR that closes the issue; one status comment, edited along the way, ending with the PR.
    const pulls = github.pulls('acme', repo);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]!.body).toContain('Fixes #7');
    const status = github.commentRecords('acme', repo, 7).filter((c) => c.body.includes(statusMarker(bug.id)));
    expect(status).toHaveLength(1);
    expect(status[0]!.edits).toBeGreaterThan(0);
    expect(status[0]!.body).toContain(`Pull request: ${bug.prUrl}`);
    expect(status[0]!.body).toContain('done: pull request opened');

    // The bot's own comment and an unknown repository start nothing; both are recorded.
    const own = webhookExample('issue_comment.created');
    own.repository.full_name = `acme/${repo}`;
    own.comment.body = '/bugfix';
    own.sender = { ...own.sender, login: 'bugfix-bot[bot]', type: 'Bot' };
    const ownAnswer = await sendGitHubWebhook({ url, secret: SECRET, event: 'issue_comment', payload: own });
    expect(ownAnswer).toMatchObject({ status: 202, body: { ignored: expect.stringContaining('bot') } });
    const elsewhere = labelled('maintainer');
    elsewhere.repository.full_name = 'someone/else';
    const elsewhereAnswer = await sendGitHubWebhook({ url, secret: SECRET, event: 'issues', payload: elsewhere });
    expect(elsewhereAnswer.body.ignored).toBe('no project for repository someone/else');
    expect(await stack.prisma.gitHubDelivery.findUnique({ where: { id: elsewhereAnswer.id } })).toMatchObject({ outcome: 'ignored' });
    expect(await stack.prisma.bugReport.count({ where: { projectId: project.id } })).toBe(1);
  });
});
