/**
 * Delivery: export the agent's commits from the sandbox as a git bundle (data, not a push from
 * inside), fetch it into a host-side clone, push `fix/bug-<id>` with the token supplied through a
 * credential helper, then find-or-create the pull request. Each step is safe to retry.
 * In fork delivery (a project setting) the branch goes to the bot's fork instead and the pull
 * request is opened from there: nothing is pushed to the project's repository.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { PullRequestRef } from '../src/domain/fix/fix.js';
import { assertBranchName } from '../src/domain/fix/ids.js';
import { git, permanentGitRefusal } from '../src/infra/git.js';
import { permanentGitHubRefusal, type GitHubClient } from '../src/infra/github.js';
import { cancellationSignal, throwIfCancelled } from '../src/temporal/activity-heartbeat.js';
import { execInSandbox } from '../src/sandbox/exec.js';
import { activityLog } from '../src/infra/log.js';
import { diffGateViolations, parseNumstatZ, parseRawDiffZ, treeChangeViolations, type TreeChange, type TreeFacts } from '../src/domain/fix/diff-gate.js';
import { sanitizeForGitHub } from '../src/domain/fix/pull-request.js';
import { unbundleChecked } from '../src/infra/git-bundle.js';
import { withStoredCredentials } from '../src/projects/clone-url.js';
import { storedDelivery } from '../src/projects/project-settings.js';
import { ensureFork, ForkRefused } from '../src/github/fork.js';
import { pullRequestHead, type DeliverySettings } from '../src/domain/fix/fork.js';
import type { ScopeLimits } from '../src/domain/agent/scope.js';
import type { PrismaClient } from '../src/db/prisma.js';
import { storableText, withoutNul } from '../src/db/jsonb.js';

export interface DeliverInput {
  workflowId: string;
  containerId: string;
  baseSha: string;
  branch: string;
  commitMessage: string;
  repoOwner: string;
  repoName: string;
  cloneUrl: string;
  defaultBranch: string;
  prTitle: string;
  prBody: string;
  draft?: boolean;
  labels?: string[];
  scopeLimits?: ScopeLimits;
  /** the GitHub issue the report came from: it gets a comment linking the PR */
  githubIssueNumber?: number | null;
  bugId: string;
  projectId: string;
  /** the branch the base commit is fetched from (a follow-up round: the PR branch); default defaultBranch */
  baseBranch?: string;
  /** a follow-up round: push onto the PR's branch (fast-forward only), open no PR, record the commit on the round */
  followUp?: { prNumber: number };
}

export interface DeliverDeps {
  prisma: PrismaClient;
  docker: Docker;
  github: GitHubClient;
  /** the host's git credential (token or GitHub App installation token) */
  gitToken?: () => Promise<string | undefined>;
  workDir: string;
  /** author and committer of the pushed commit (COMMIT_AUTHOR_NAME / COMMIT_AUTHOR_EMAIL) */
  commitIdentity?: { name: string; email: string };
}

const DEFAULT_COMMIT_IDENTITY = { name: 'bugfix-service', email: 'bugfix-service@noreply.invalid' };

async function sandboxGit(docker: Docker, containerId: string, args: string[]): Promise<{ code: number; out: Buffer; err: string }> {
  const r = await execInSandbox(docker, containerId, ['git', ...args], { timeoutMs: 60_000 });
  return { code: r.exitCode, out: r.stdout, err: r.stderr.toString() };
}

async function must(docker: Docker, containerId: string, args: string[]): Promise<Buffer> {
  const r = await sandboxGit(docker, containerId, args);
  if (r.code !== 0) throw new Error(`git ${args[0]} in sandbox failed: ${r.err.trim()}`);
  return r.out;
}

/** Past this the fix is not delivered: no bug fix is that big, and the worker holds the bundle in memory. */
const MAX_DELIVERY_BUNDLE_BYTES = 100 * 1024 * 1024;

/** Commits leftovers, then returns the fix commits as a bundle (bytes) and the head sha. */
async function exportCommits(docker: Docker, input: DeliverInput): Promise<{ bundle: Buffer; headSha: string }> {
  const id = input.containerId;
  await must(docker, id, ['add', '-A']);
  if ((await sandboxGit(docker, id, ['diff', '--cached', '--quiet'])).code !== 0) {
    await must(docker, id, ['commit', '-q', '-m', input.commitMessage]);
  }
  const headSha = (await must(docker, id, ['rev-parse', 'HEAD'])).toString().trim();
  const count = Number((await must(docker, id, ['rev-list', '--count', `${input.baseSha}..HEAD`])).toString().trim());
  if (count === 0) {
    throw ApplicationFailure.nonRetryable('the agent made no changes: nothing to deliver', 'NothingToDeliver');
  }
  await must(docker, id, ['bundle', 'create', '-q', '/tmp/fix.bundle', 'HEAD', `^${input.baseSha}`]);
  // Byte for byte, or a clear failure: a cut bundle would not fetch.
  const bundle = (await execInSandbox(docker, id, ['cat', '/tmp/fix.bundle'], { exactStdoutBytes: MAX_DELIVERY_BUNDLE_BYTES })).stdout;
  return { bundle, headSha };
}

/**
 * Fetches the base, reads the agent's commits in (fsck'd), gates the tree they end at, and pushes
 * ONE commit of that tree on the base, by the service, with the workflow's sanitised message: the
 * agent's intermediate commits, their messages (`[skip ci]`, closing keywords, @mentions) and
 * their authors never leave the host, and what is pushed is exactly what the gate checked.
 */
export async function pushBranch(deps: DeliverDeps, input: DeliverInput, bundle: Buffer, to: PushTarget = { url: input.cloneUrl }): Promise<string> {
  const token = await deps.gitToken?.();
  const dir = path.join(deps.workDir, input.workflowId.replace(/[^A-Za-z0-9._-]/g, '_'), 'deliver');
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  await git(['init', '-q', '--bare', dir]);
  // The bundle's prerequisite (the base commit) must exist locally: fetch it from the remote (a
  // round's base is the PR branch, which lives where it is pushed to: a fork in fork delivery).
  const baseFrom = input.followUp ? to.url : input.cloneUrl;
  await git(['fetch', '-q', '--', baseFrom, `refs/heads/${input.baseBranch ?? input.defaultBranch}`], { cwd: dir, token });
  const agentTip = await unbundleChecked(dir, bundle);
  const tree = (await git(['rev-parse', `${agentTip}^{tree}`], { cwd: dir })).trim();
  await scopeGate(deps, input, dir, tree);
  const remoteHead = (await git(['ls-remote', '--', to.url, `refs/heads/${input.branch}`], { token })).split(/\s/)[0];
  if (remoteHead) {
    // An earlier attempt pushed (its commit differs only in its date): the same tree on the same base is done.
    await git(['fetch', '-q', '--', to.url, `refs/heads/${input.branch}`], { cwd: dir, token });
    const [pushedTree, pushedParent] = (await git(['show', '-s', '--format=%T %P', remoteHead], { cwd: dir })).trim().split(' ');
    if (pushedTree === tree && pushedParent === input.baseSha) return remoteHead;
    // A round adds to the head it started from; someone else's push since is not overwritten (nor merged blindly).
    if (input.followUp && remoteHead !== input.baseSha) {
      throw ApplicationFailure.nonRetryable(
        `${input.branch} moved to ${remoteHead.slice(0, 12)} while the round ran (it started from ${input.baseSha.slice(0, 12)}): nothing pushed; the next round starts from the new head`,
        'BranchMoved',
      );
    }
  } else if (input.followUp) {
    throw ApplicationFailure.nonRetryable(`${input.branch} no longer exists: nothing pushed`, 'BranchMoved');
  }
  const identity = deps.commitIdentity ?? DEFAULT_COMMIT_IDENTITY;
  const commit = (
    await git(['-c', `user.name=${identity.name}`, '-c', `user.email=${identity.email}`, 'commit-tree', tree, '-p', input.baseSha, '-F', '-'], {
      cwd: dir,
      input: Buffer.from(commitMessage(input)),
    })
  ).trim();
  throwIfCancelled(); // nothing is pushed or opened once the fix was stopped
  // Never force: a branch moved by someone else is not ours to overwrite. A fork lacking the
  // upstream's newer commits gets them with this push: git sends what the remote does not have.
  await git(['push', '-q', '--', to.url, `${commit}:refs/heads/${input.branch}`], { cwd: dir, token });
  await fs.rm(dir, { recursive: true, force: true });
  return commit;
}

/** Where the fix branch is pushed: the project's clone URL, or its fork's. */
export interface PushTarget {
  url: string;
}

/** The pushed commit's message: the workflow's (already sanitised) subject, sanitised again here, and where it came from. */
function commitMessage(input: DeliverInput): string {
  return `${sanitizeForGitHub(input.commitMessage.split('\n')[0]!).slice(0, 200)}\n\nProposed by the bug-fixing service for bug ${input.bugId}.\n`;
}

/** Judged on the host, on exactly the tree that is pushed: the sandbox's own account is not trusted. */
async function scopeGate(deps: DeliverDeps, input: DeliverInput, dir: string, tree: string): Promise<void> {
  const numstat = await git(['diff', '--numstat', '-z', input.baseSha, tree], { cwd: dir });
  const changes = parseRawDiffZ(await git(['diff-tree', '-r', '-z', '--no-renames', input.baseSha, tree], { cwd: dir }));
  const violations = [
    ...diffGateViolations(parseNumstatZ(numstat), input.scopeLimits),
    ...treeChangeViolations(changes, await treeFacts(dir, changes), input.scopeLimits),
  ];
  if (violations.length === 0) return;
  const message = `scope gate refused the fix before push: ${violations.join('; ')}`;
  await deps.prisma.safetyEvent.create({
    data: {
      kind: 'scope_violation',
      severity: 'critical',
      message: storableText(message), // paths the agent wrote
      workflowId: input.workflowId,
      bugId: input.bugId,
      projectId: input.projectId,
      details: { violations: withoutNul(violations) },
    },
  });
  throw ApplicationFailure.nonRetryable(message, 'ScopeViolation');
}

/** Sizes of the new blobs and targets of the new symlinks, read by the host from its own copy. */
async function treeFacts(dir: string, changes: TreeChange[]): Promise<TreeFacts> {
  const blobs = changes.filter((c) => c.status !== 'D' && c.newMode !== '160000');
  const blobBytes = new Map<string, number>();
  if (blobs.length) {
    const out = await git(['cat-file', '--batch-check=%(objectname) %(objectsize)'], {
      cwd: dir,
      input: Buffer.from(blobs.map((c) => `${c.newSha}\n`).join('')),
    });
    for (const line of out.split('\n')) {
      const [sha, size] = line.split(' ');
      if (sha && size) blobBytes.set(sha, Number(size));
    }
  }
  const symlinkTargets = new Map<string, string>();
  for (const c of blobs.filter((b) => b.newMode === '120000')) {
    symlinkTargets.set(c.path, await git(['cat-file', 'blob', c.newSha], { cwd: dir }));
  }
  return { blobBytes, symlinkTargets };
}

/**
 * Labels and the issue's link to the PR, once the PR exists: best-effort. A failure is logged, not
 * the fix's failure: the PR is what was asked for, and retrying delivery would not mend a label
 * GitHub refuses.
 */
export async function labelAndLink(github: GitHubClient, input: DeliverInput, pr: PullRequestRef): Promise<void> {
  const log = activityLog({ bugId: input.bugId });
  const repo = { owner: input.repoOwner, repo: input.repoName };
  if (input.labels?.length) {
    await github.rest.issues
      .addLabels({ ...repo, issue_number: pr.number, labels: input.labels })
      .catch((err: unknown) => log.warn({ err, pr: pr.url, labels: input.labels }, 'could not label the pull request; it stays open unlabelled'));
  }
  if (input.githubIssueNumber) {
    await linkIssue(github, input, input.githubIssueNumber, pr).catch((err: unknown) =>
      log.warn({ err, pr: pr.url, issue: input.githubIssueNumber }, 'could not comment the pull request on its issue'),
    );
  }
}

/** One comment per fix, even when delivery is retried or a response is lost: found by its marker. */
async function linkIssue(github: GitHubClient, input: DeliverInput, issue: number, pr: PullRequestRef): Promise<void> {
  const repo = { owner: input.repoOwner, repo: input.repoName };
  const marker = `<!-- bugfix:${input.workflowId} -->`;
  const posted = async () => {
    // Every page: on a busy issue the marker may be past the first hundred comments.
    for await (const { data } of github.paginate.iterator(github.rest.issues.listComments, { ...repo, issue_number: issue, per_page: 100 })) {
      if (data.some((c) => c.body?.includes(marker))) return true;
    }
    return false;
  };
  for (let attempt = 1; ; attempt++) {
    if (await posted()) return;
    try {
      // Not retried blindly (retries: 0): a 5xx may come after GitHub saved the comment, so the
      // marker is looked for again before a second try.
      await github.rest.issues.createComment({
        ...repo,
        issue_number: issue,
        body: `A fix is proposed in #${pr.number}.\n\n${marker}`,
        request: { retries: 0 },
      });
      return;
    } catch (err) {
      const status = (err as { status?: number }).status ?? 0;
      if (attempt >= 2 || (status >= 400 && status < 500)) throw err;
    }
  }
}

/** The repository the branch is pushed to, as the PR's head names it. */
interface HeadRepo {
  owner: string;
  name: string;
}

async function findOrCreatePullRequest(github: GitHubClient, input: DeliverInput, headRepo: HeadRepo): Promise<PullRequestRef> {
  const crossRepo = headRepo.owner !== input.repoOwner || headRepo.name !== input.repoName;
  const repository = `${headRepo.owner}/${headRepo.name}`;
  const find = async () => {
    const { data } = await github.rest.pulls.list({
      owner: input.repoOwner,
      repo: input.repoName,
      head: pullRequestHead(headRepo.owner, input.branch),
      state: 'open',
      request: { signal: cancellationSignal() },
    });
    const pr = data[0];
    return pr ? { url: pr.html_url, number: pr.number, branch: input.branch, repository } : null;
  };
  const existing = await find();
  if (existing) return existing;
  throwIfCancelled(); // nothing is pushed or opened once the fix was stopped
  try {
    const { data } = await github.rest.pulls.create({
      owner: input.repoOwner,
      repo: input.repoName,
      head: crossRepo ? pullRequestHead(headRepo.owner, input.branch) : input.branch,
      // A fork whose name differs from the upstream's (GitHub renames on a clash) is named too.
      ...(crossRepo && headRepo.name !== input.repoName ? { head_repo: headRepo.name } : {}),
      // From a fork, reviewers may push their own touches to the fix branch.
      ...(crossRepo ? { maintainer_can_modify: true } : {}),
      base: input.defaultBranch,
      title: input.prTitle,
      body: input.prBody,
      draft: input.draft ?? false,
      request: { signal: cancellationSignal() },
    });
    return { url: data.html_url, number: data.number, branch: input.branch, repository };
  } catch (err) {
    // 422 "A pull request already exists": a concurrent or earlier attempt created it.
    if ((err as { status?: number }).status === 422) {
      const raced = await find();
      if (raced) return raced;
    }
    throw err;
  }
}

/**
 * A refusal that retrying cannot change (a missing repository, a token without access, an invalid
 * request) ends the fix at once with its reason, instead of ten attempts over minutes while the
 * fix only says "delivering". Rate limits and server errors stay retryable.
 */
export function asDeliveryFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ForkRefused) return ApplicationFailure.nonRetryable(`delivery refused: ${err.message}`, 'DeliveryRefused');
  const reason = permanentGitHubRefusal(err) ?? permanentGitRefusal(err);
  return reason ? ApplicationFailure.nonRetryable(`delivery refused: ${reason}`, 'DeliveryRefused') : err;
}

async function deliveryOf(prisma: PrismaClient, bugId: string): Promise<DeliverySettings> {
  const bug = await prisma.bugReport.findUnique({ where: { id: bugId }, select: { project: { select: { delivery: true } } } });
  const delivery = storedDelivery(bug?.project.delivery);
  if ('problem' in delivery) throw ApplicationFailure.nonRetryable(`delivery refused: ${delivery.problem}`, 'DeliveryRefused');
  return delivery;
}

/** A follow-up round's push: the commit and the agent's summary go on the round's record (its replies quote them). */
async function recordRoundCommit(deps: DeliverDeps, input: DeliverInput, prNumber: number, commitSha: string): Promise<PullRequestRef> {
  const { data } = await deps.github.rest.pulls.get({ owner: input.repoOwner, repo: input.repoName, pull_number: prNumber });
  await deps.prisma.pullRequestRound.updateMany({
    where: { id: input.workflowId },
    data: { commitSha, summary: storableText(sanitizeForGitHub(input.prBody).slice(0, 2000)) },
  });
  activityLog({ bugId: input.bugId }).info({ branch: input.branch, commitSha, pr: data.html_url }, 'follow-up round pushed');
  return { url: data.html_url, number: data.number, branch: input.branch };
}

export function createDeliveryActivities(deps: DeliverDeps) {
  return {
    async deliverFix(payload: DeliverInput): Promise<PullRequestRef> {
      const input = { ...payload, cloneUrl: await withStoredCredentials(deps.prisma, payload.bugId, payload.cloneUrl) };
      assertBranchName(input.branch);
      if (input.branch === `refs/heads/${input.defaultBranch}` || input.branch === input.defaultBranch) {
        throw ApplicationFailure.nonRetryable('refusing to push to the default branch', 'UnsafePush');
      }
      try {
        // Read now, not when the fix started: a project switched to fork delivery meanwhile gets it.
        const delivery = await deliveryOf(deps.prisma, input.bugId);
        const fork =
          delivery.mode === 'fork'
            ? await ensureFork(deps.github, { owner: input.repoOwner, repo: input.repoName }, { forkOwner: delivery.forkOwner, signal: cancellationSignal() })
            : undefined;
        const { bundle } = await exportCommits(deps.docker, input);
        const headSha = await pushBranch(deps, input, bundle, fork ? { url: fork.cloneUrl } : { url: input.cloneUrl });
        if (input.followUp) return await recordRoundCommit(deps, input, input.followUp.prNumber, headSha);
        const pr = await findOrCreatePullRequest(deps.github, input, fork ?? { owner: input.repoOwner, name: input.repoName });
        await labelAndLink(deps.github, input, pr);
        activityLog({ bugId: input.bugId }).info({ branch: input.branch, repository: pr.repository, headSha, pr: pr.url }, 'fix delivered');
        return pr;
      } catch (err) {
        throw asDeliveryFailure(err);
      }
    },
  };
}
