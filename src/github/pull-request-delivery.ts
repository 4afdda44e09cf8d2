/** The pull request of a delivered fix: found or opened (from the fork in fork delivery), labelled, linked from its issue. */
import type { PullRequestRef } from '../domain/fix/fix.js';
import { pullRequestHead } from '../domain/fix/fork.js';
import type { DeliverInput } from '../delivery/deliver-input.js';
import type { GitHubClient } from '../infra/github.js';
import { activityLog } from '../infra/log.js';
import { cancellationSignal, throwIfCancelled } from '../temporal/activity-heartbeat.js';

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
export interface HeadRepo {
  owner: string;
  name: string;
}

export async function findOrCreatePullRequest(github: GitHubClient, input: DeliverInput, headRepo: HeadRepo): Promise<PullRequestRef> {
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
