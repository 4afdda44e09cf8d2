/**
 * Delivery: export the agent's commits from the sandbox as a git bundle (data, not a push from
 * inside), fetch it into a host-side clone, push `fix/bug-<id>` with the token supplied through a
 * credential helper, then find-or-create the pull request. Each step is safe to retry.
 * In fork delivery (a project setting) the branch goes to the bot's fork instead and the pull
 * request is opened from there: nothing is pushed to the project's repository.
 * The steps live in src/delivery (sandbox export, scope gate, push) and src/github (the PR).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { PullRequestRef } from '../src/domain/fix/fix.js';
import { assertBranchName } from '../src/domain/fix/ids.js';
import { permanentGitRefusal } from '../src/infra/git.js';
import { permanentGitHubRefusal } from '../src/infra/github.js';
import { cancellationSignal } from '../src/temporal/activity-heartbeat.js';
import { activityLog } from '../src/infra/log.js';
import { sanitizeForGitHub } from '../src/domain/fix/pull-request.js';
import { withStoredCredentials } from '../src/projects/clone-url.js';
import { storedDelivery } from '../src/projects/project-settings.js';
import { ensureFork, ForkRefused } from '../src/github/fork.js';
import type { DeliverySettings } from '../src/domain/fix/fork.js';
import type { PrismaClient } from '../src/db/prisma.js';
import { storableText } from '../src/db/jsonb.js';
import type { DeliverDeps, DeliverInput } from '../src/delivery/deliver-input.js';
import { exportCommits } from '../src/delivery/export-commits.js';
import { pushBranch } from '../src/delivery/push-branch.js';
import { findOrCreatePullRequest, labelAndLink } from '../src/github/pull-request-delivery.js';

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
